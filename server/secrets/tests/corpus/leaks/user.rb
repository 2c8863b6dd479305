class User
  DEFAULTS = { :password => "RUBYPASS123456" }
  config.secret_key_base = "rb5ecretd440e50454f31af3176813e02ea68ef786e4d3ce"
  ENV["SENDGRID_KEY"] = "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"
end

package main

import "os"

type Config struct {
	APIKey string
}

func main() {
	dbPassword := "GOWALRUS1234567"
	dsn := "postgres://admin:PGPASS99@db/app"
	awsKey := "keyAKIAABCDEFGHIJKLMNOP"
	os.Setenv("SLACK_TOKEN", "xoxb-123456789012-kNhFdnXsiVpzz63FfkCzJr4i")
	cfg := Config{APIKey: "go4p1k3yd8dbc74254770f58904d"}
	twilio := "SKba41ecccc3fc1626e53a13043b026c48"
	_ = []any{dbPassword, dsn, awsKey, cfg, twilio}
}

//! Configuration with secret-like names, read from the environment.
pub struct Config {
    pub api_key: Option<String>,
    pub token: Option<String>,
}

pub const API_KEY_ENV: &str = "SCRY_API_KEY";

impl Config {
    pub fn from_env() -> Config {
        let api_key = std::env::var(API_KEY_ENV).ok();
        let token = std::env::var("SCRY_TOKEN").ok();
        let password = rpassword::prompt_password("Password: ").ok();
        Config { api_key, token: token.or(password) }
    }
}

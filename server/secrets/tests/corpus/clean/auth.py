"""Authentication helpers full of secret-like names and no secret at all."""
import os

PASSWORD_MIN_LENGTH = 12
TOKEN_TYPE = "bearer"
API_KEY_HEADER = "X-Api-Key"
API_KEY_ENV = "OPENAI_API_KEY"
SECRET_KEY_FILE = "/run/secrets/django_secret_key"
DEFAULT_TOKEN_URL = "https://auth.example.org/oauth/token"


class TokenAuth:
    def __init__(self, token=None, auth_header=API_KEY_HEADER):
        self.token = token or os.environ.get("API_TOKEN")
        self.auth_header = auth_header

    def __call__(self, request):
        new_auth = get_netrc_auth(request.url)
        auth_token = self.refresh_token(new_auth)
        request.headers["Authorization"] = f"Bearer {auth_token}"
        return request

    def refresh_token(self, auth):
        token = auth.fetch_token(token_url=DEFAULT_TOKEN_URL, client_secret=os.environ["CLIENT_SECRET"])
        password = prompt_password("Password: ")
        secret = load_secret(SECRET_KEY_FILE)
        return token or password or secret


def get_netrc_auth(url, raise_errors=False):
    password_manager = PasswordManager()
    credentials = password_manager.find_credentials(url)
    return credentials


def check_password(password, password_hash):
    return verify_password_hash(password, password_hash)

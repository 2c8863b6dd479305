"""Service settings (leak corpus: every literal below is a secret)."""
import stripe

DB_PASSWORD = "PyDbPass!2024"
stripe.api_key = "sk_live_u8jzPde0IgxLd6GncfBAepfJ"
OPENAI_API_KEY = "sk-proj-Bd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJ"
SECRET_KEY = 'django-insecure-8x!k2#pq$w9zt@4m'
BOT = "1234567890:AATeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vUC"


def client():
    return Client(token="ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8")


def headers():
    return {"Authorization": "Bearer pyB3arerrESQedUStPKR0CsTy4Qwb8Dw"}

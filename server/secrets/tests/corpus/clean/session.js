// Session handling with secret-looking names and ordinary values.
const TOKEN_STORAGE_KEY = "session_token";
const PASSWORD_FIELD = "password";
const headers = { "X-Auth-Token": "X-Auth-Token" };

export function login(username, password, { apiKey = process.env.API_KEY } = {}) {
  const token = createToken(username, password);
  const refreshToken = localStorage.getItem(TOKEN_STORAGE_KEY);
  const auth = { token, refreshToken, apiKey };
  return fetch("/api/login", { headers: { Authorization: `Bearer ${token}` }, body: auth });
}

export const tokenizer = (text) => text.split(/\s+/).map((token) => ({ token }));

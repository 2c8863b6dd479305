// Client configuration (leak corpus).
const apiKey = "AIza9wMxEhh2FDEEtfjgVvVqE1SkHbn88HxjSI6";
const settings = {
  password: 'JsPassw0rd!x',
  jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqcyJ9.bWHtP3fS2qHx6kwXoIIXGvOoNZYW2mZp0zVZomHFwUb",
};
const npmToken = "npm_bYrEqmSM9wCZ7Uw9xfogoEmvnEN5N1aE6PwZ";
const secret = `tmplSecret7788aa`;
module.exports = { apiKey, settings, npmToken, secret };

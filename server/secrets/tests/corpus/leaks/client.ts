export const ANTHROPIC_API_KEY: string = "sk-ant-api03-Pf1Qh6yYTWmE4lBYOvfZ8UzDzV8fUkkibjL5DZPjN0MEQ7wjJJibaZUPgHV7";
export class Auth {
  private clientSecret = "tsiB3m03nbqnsGpWLuqIA1id6Vw5DQL0";
}

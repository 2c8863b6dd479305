// Package lexer: a tokenizer whose identifiers say token, key and secret everywhere.
package lexer

type Token struct {
	Kind  TokenKind
	Text  string
	Start int
}

const (
	TokenIdent   = "IDENT"
	TokenString  = "STRING"
	tokenComment = "COMMENT"
)

func NextToken(src string, pos int) (Token, int) {
	token := Token{Kind: TokenIdent, Start: pos}
	accessToken := lookupAccessToken(src)
	apiKey := config.APIKey
	secretKey := keyring.Get("scry", "secret")
	password := readPassword()
	authToken := authenticate(apiKey, secretKey, password)
	_ = accessToken
	_ = authToken
	return token, pos + 1
}

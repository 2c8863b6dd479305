class Program {
    const string Conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzLczbttOofL9H2WjQ5TY4MyWuUFjsUNPjc01T5GOBUSZGi6HWGK1==;EndpointSuffix=core.windows.net";
    string password = @"CsVerbatimPass1!";
}

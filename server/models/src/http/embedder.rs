//! Embeddings from an OpenAI-compatible `/v1/embeddings`, checked before they reach the
//! index: the right count, one dimension for all, finite, non-zero; then normalised.

use serde_json::{Value, json};

use super::{HttpClient, HttpConfig};
use crate::generate::estimate_tokens;
use crate::{Embedder, EmbedderInfo, Embeddings, ModelError};

pub struct HttpEmbedder {
    client: HttpClient,
    info: EmbedderInfo,
}

impl HttpEmbedder {
    /// Connects and embeds a probe text to learn the model's dimensions.
    pub fn connect(config: HttpConfig, max_tokens: usize) -> Result<HttpEmbedder, ModelError> {
        let client = HttpClient::new(config);
        let probe = request(&client, &["probe".to_owned()], None)?;
        let dims = probe.first().map_or(0, Vec::len);
        let config = client.config();
        let info = EmbedderInfo {
            id: format!("{}@{}", config.model, client.server()),
            path: std::path::PathBuf::from(client.server()),
            architecture: "remote".into(),
            dims,
            max_tokens,
            weights_bytes: None,
        };
        Ok(HttpEmbedder { client, info })
    }

    /// The client: its servers, their health and the failovers so far.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }
}

fn request(
    client: &HttpClient,
    texts: &[String],
    dims: Option<usize>,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let body = json!({ "model": client.config().model, "input": texts });
    let ok = client.post("embeddings", &body)?;
    let v = client.read_json(ok)?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| client.bad("no `data` array in the embeddings response"))?;
    if data.len() != texts.len() {
        return Err(client.bad(format!(
            "{} embeddings for {} inputs",
            data.len(),
            texts.len()
        )));
    }
    let mut out: Vec<(usize, Vec<f32>)> = Vec::with_capacity(data.len());
    for (i, item) in data.iter().enumerate() {
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .map_or(i, |n| n as usize);
        let raw = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| client.bad("an item without an `embedding` array"))?;
        let mut vector = Vec::with_capacity(raw.len());
        for x in raw {
            let f = x
                .as_f64()
                .ok_or_else(|| client.bad("an embedding value is not a number"))?;
            vector.push(f as f32);
        }
        out.push((index, normalize(client, vector)?));
    }
    out.sort_by_key(|(i, _)| *i);
    let expected = dims.unwrap_or_else(|| out.first().map_or(0, |(_, v)| v.len()));
    if expected == 0 {
        return Err(client.bad("empty embeddings"));
    }
    if let Some((_, v)) = out.iter().find(|(_, v)| v.len() != expected) {
        return Err(client.bad(format!(
            "an embedding has {} dimensions, expected {expected}",
            v.len()
        )));
    }
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// `text` cut to at most `max_bytes`, at a character boundary.
fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_owned()
}

fn normalize(client: &HttpClient, v: Vec<f32>) -> Result<Vec<f32>, ModelError> {
    if !v.iter().all(|x| x.is_finite()) {
        return Err(client.bad("an embedding contains NaN or infinity"));
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        return Err(client.bad("an embedding is all zeros"));
    }
    Ok(v.into_iter().map(|x| x / norm).collect())
}

impl Embedder for HttpEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&self, texts: &[String]) -> Result<Embeddings, ModelError> {
        if texts.is_empty() {
            return Ok(Embeddings::default());
        }
        // A server refuses inputs longer than its model takes; cut them to about
        // `max_tokens` (at three bytes a token, the estimate used everywhere here), as
        // the in-process embedder truncates to the model's limit.
        let limit = self.info.max_tokens.saturating_mul(3).max(1);
        let texts: Vec<String> = texts.iter().map(|t| truncate(t, limit)).collect();
        let vectors = request(&self.client, &texts, Some(self.info.dims))?;
        let tokens = texts.iter().map(|t| estimate_tokens(t)).sum();
        Ok(Embeddings { vectors, tokens })
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        Ok(estimate_tokens(text))
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn inputs_are_cut_at_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdef", 4), "abcd");
        // "é" is two bytes: a cut inside it backs off to before it.
        assert_eq!(truncate("aé", 2), "a");
    }
}

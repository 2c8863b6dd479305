//! Tokens whose shape gives them away: a vendor prefix and a fixed alphabet and length.
//!
//! The formats are those the gitleaks, detect-secrets and trufflehog rule sets list;
//! the expressions are our own. A prefix that could end an ordinary word (`sk-`,
//! `key-`) needs a word boundary before it; a distinctive one (`AKIA`, `ghp_`) does not,
//! so a key glued to text (`"keyAKIA…"`) is still found.

use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::Regex;

/// Each rule's secret is its `s` group.
const RULES: &[(&str, &str)] = &[
    (
        "aws-access-key-id",
        r"(?P<s>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16})\b",
    ),
    ("github-token", r"(?P<s>gh[pousr]_[A-Za-z0-9]{36,255})\b"),
    (
        "github-fine-grained",
        r"(?P<s>github_pat_[A-Za-z0-9_]{22,255})",
    ),
    (
        "gitlab-token",
        r"(?P<s>gl(?:pat|ptt|dt|rt|soat|cbt)-[A-Za-z0-9_\-]{20,})",
    ),
    ("gitlab-runner", r"(?P<s>GR1348941[A-Za-z0-9_\-]{20,})"),
    (
        "openai-anthropic",
        r"\b(?P<s>sk-(?:proj-|ant-(?:api\d\d-|admin\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})",
    ),
    ("stripe", r"\b(?P<s>[rsp]k_(?:live|test)_[A-Za-z0-9]{16,})"),
    ("stripe-webhook", r"\b(?P<s>whsec_[A-Za-z0-9]{24,})"),
    ("slack-token", r"\b(?P<s>xox[abposre]-[A-Za-z0-9\-]{10,})"),
    (
        "slack-webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_\-]{20,})",
    ),
    (
        "discord-webhook",
        r"discord(?:app)?\.com/api/webhooks/(?P<s>[0-9]{17,20}/[A-Za-z0-9_\-]{60,})",
    ),
    ("google-api-key", r"(?P<s>AIza[0-9A-Za-z_\-]{35})"),
    ("google-oauth-secret", r"(?P<s>GOCSPX-[A-Za-z0-9_\-]{28})"),
    ("google-refresh-token", r"\b(?P<s>1//0[A-Za-z0-9_\-]{40,})"),
    (
        "jwt",
        r"\b(?P<s>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
    ),
    ("npm-token", r"\b(?P<s>npm_[A-Za-z0-9]{36})\b"),
    (
        "pypi-token",
        r"(?P<s>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})",
    ),
    ("huggingface", r"\b(?P<s>(?:hf_|api_org_)[A-Za-z]{34})\b"),
    (
        "sendgrid",
        r"(?P<s>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})",
    ),
    ("twilio-api-key", r"\b(?P<s>SK[0-9a-fA-F]{32})\b"),
    ("mailgun", r"\b(?P<s>key-[0-9a-f]{32})\b"),
    ("mailchimp", r"\b(?P<s>[0-9a-f]{32}-us[0-9]{1,2})\b"),
    ("shopify", r"\b(?P<s>shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})\b"),
    ("digitalocean", r"\b(?P<s>do[por]_v1_[a-f0-9]{64})\b"),
    ("telegram-bot", r"\b(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33})"),
    (
        "discord-bot",
        r"\b(?P<s>[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})\b",
    ),
    (
        "azure-storage",
        r"(?i:AccountKey)=(?P<s>[A-Za-z0-9+/]{40,}={0,2})",
    ),
    ("azure-sas", r"[?&]sig=(?P<s>[A-Za-z0-9%+/]{30,}={0,2})"),
    (
        "age-secret-key",
        r"(?P<s>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
    ),
    ("databricks", r"\b(?P<s>dapi[a-h0-9]{32})\b"),
    (
        "doppler",
        r"(?P<s>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})",
    ),
    ("linear", r"(?P<s>lin_api_[A-Za-z0-9]{40})"),
    ("square", r"(?P<s>sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43})"),
    ("postman", r"(?P<s>PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34})"),
    (
        "grafana",
        r"\b(?P<s>(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2}))",
    ),
    ("vault", r"\b(?P<s>hv[sbr]\.[A-Za-z0-9_\-]{24,})"),
    (
        "terraform-cloud",
        r"(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70})",
    ),
    ("supabase", r"\b(?P<s>sbp_[a-f0-9]{40})\b"),
    ("new-relic", r"\b(?P<s>NR(?:AK|II|JS)-[A-Za-z0-9]{19,32})\b"),
    ("sentry", r"\b(?P<s>sntry[su]_[A-Za-z0-9+/=_\-]{40,})"),
    ("pulumi", r"\b(?P<s>pul-[a-f0-9]{40})\b"),
    ("dynatrace", r"(?P<s>dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})"),
    ("groq", r"\b(?P<s>gsk_[A-Za-z0-9]{52})\b"),
    ("replicate", r"\b(?P<s>r8_[A-Za-z0-9]{37})\b"),
    ("xai", r"\b(?P<s>xai-[A-Za-z0-9]{60,})"),
    ("perplexity", r"\b(?P<s>pplx-[A-Za-z0-9]{40,})"),
    ("heroku", r"\b(?P<s>HRKU-[A-Za-z0-9_\-]{40,})"),
    ("atlassian", r"\b(?P<s>ATATT3[A-Za-z0-9_\-=]{150,})"),
    (
        "bearer-header",
        r"(?i:\b(?:bearer|token))\s+(?P<s>[A-Za-z0-9_\-.=+/~]{20,})",
    ),
    (
        "basic-header",
        r"(?i:\bbasic)\s+(?P<s>[A-Za-z0-9+/]{16,}={0,2})",
    ),
];

fn rules() -> &'static [(&'static str, Regex)] {
    static COMPILED: OnceLock<Vec<(&str, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|(name, p)| {
                let re = Regex::new(p).unwrap_or_else(|e| panic!("secret rule {name}: {e}"));
                (*name, re)
            })
            .collect()
    })
}

pub(crate) fn find(bytes: &[u8], out: &mut Vec<Range<usize>>) {
    for (name, re) in rules() {
        for c in re.captures_iter(bytes) {
            let Some(s) = c.name("s") else { continue };
            if name.ends_with("-header") && !header_value_is_secret(s.as_bytes()) {
                continue;
            }
            out.push(s.range());
        }
    }
}

/// `Bearer <token>` and `Basic <base64>` are also how prose talks ("token authentication
/// mechanism"): the value must mix letters and digits like a generated one.
fn header_value_is_secret(v: &[u8]) -> bool {
    let digit = v.iter().any(u8::is_ascii_digit);
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let lower = v.iter().any(u8::is_ascii_lowercase);
    digit && (upper || lower) && !v.contains(&b'_') || digit && upper && lower
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(s.as_bytes(), &mut out);
        out.into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(rules().len(), RULES.len());
    }

    #[test]
    fn a_key_glued_to_text_is_found() {
        assert_eq!(
            found("\"keyAKIAABCDEFGHIJKLMNOP\""),
            ["AKIAABCDEFGHIJKLMNOP"]
        );
    }

    #[test]
    fn prose_about_tokens_is_not_a_token() {
        assert!(found("uses token authentication_mechanisms and Bearer authorization").is_empty());
        assert!(found("task-abcdefghijklmnopqrstuvwxyz").is_empty());
    }
}

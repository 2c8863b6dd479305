//! The two vector tiers: a fast one (a static table distilled from the embedding model:
//! every chunk has a vector as soon as it is indexed) and a full one (the model itself,
//! computed in the background and used as it arrives). Either may be absent.

use std::fmt;

use scry_index::Precision;

/// Which vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// A static table distilled from the embedding model: microseconds per chunk.
    Fast,
    /// The embedding model itself.
    Full,
}

impl Tier {
    pub const ALL: [Tier; 2] = [Tier::Fast, Tier::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Fast => "fast",
            Tier::Full => "full",
        }
    }

    /// What the tier's new vectors are stored in. The fast tier's unit vectors keep
    /// 128 components, wide enough apart for a byte each: on the quality benchmark
    /// that ranks as two bytes do (chunk NDCG@10 0.899 against 0.897) in half the
    /// memory. A transformer's 384 lose 0.003 at a byte, so they keep two.
    pub fn precision(self) -> Precision {
        match self {
            Tier::Fast => Precision::Byte,
            Tier::Full => Precision::Half,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per tier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerTier<T> {
    pub fast: T,
    pub full: T,
}

impl<T> PerTier<T> {
    pub fn get(&self, tier: Tier) -> &T {
        match tier {
            Tier::Fast => &self.fast,
            Tier::Full => &self.full,
        }
    }

    pub fn get_mut(&mut self, tier: Tier) -> &mut T {
        match tier {
            Tier::Fast => &mut self.fast,
            Tier::Full => &mut self.full,
        }
    }

    pub fn map<'a, U>(&'a self, mut f: impl FnMut(Tier, &'a T) -> U) -> PerTier<U> {
        PerTier {
            fast: f(Tier::Fast, &self.fast),
            full: f(Tier::Full, &self.full),
        }
    }

    /// Both, fast first.
    pub fn iter(&self) -> impl Iterator<Item = (Tier, &T)> {
        [(Tier::Fast, &self.fast), (Tier::Full, &self.full)].into_iter()
    }
}

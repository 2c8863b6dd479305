//! Turning one vector per vocabulary token into a static embedding table, the model2vec
//! way: principal components (centred, the strongest `dims` kept), then each row weighted
//! by smooth inverse frequency, with frequencies estimated from the token's rank under
//! Zipf's law (vocabularies list frequent tokens first). A text's vector is then the mean
//! of its tokens' rows, normalised; see [`crate::StaticEmbedder`].
//!
//! Plain `f32`/`f64` arithmetic: the eigenvectors come from cyclic Jacobi rotations of
//! the covariance matrix, exact enough for a few hundred dimensions and dependency-free.

/// How strongly frequent tokens are damped: `a / (a + p(token))`. model2vec's default.
pub const SIF_COEFFICIENT: f64 = 1e-4;

/// Rows of `dims` columns, one per kept token, in vocabulary order.
pub struct TokenRows {
    pub dims: usize,
    pub data: Vec<f32>,
}

impl TokenRows {
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }
}

/// The rows projected on their `keep` strongest principal components (after centring),
/// each then multiplied by its SIF weight. `keep` is clamped to the input's dimensions.
pub fn reduce_and_weight(rows: &TokenRows, keep: usize) -> TokenRows {
    let projected = principal_components(rows, keep);
    weight_by_zipf_rank(projected, SIF_COEFFICIENT)
}

/// Projection of the centred rows on the eigenvectors of their covariance with the
/// largest eigenvalues, strongest first.
pub fn principal_components(rows: &TokenRows, keep: usize) -> TokenRows {
    let (n, d) = (rows.len(), rows.dims);
    let keep = keep.clamp(1, d.max(1));
    if n == 0 {
        return TokenRows {
            dims: keep,
            data: Vec::new(),
        };
    }
    let mut mean = vec![0f64; d];
    for i in 0..n {
        for (m, x) in mean.iter_mut().zip(rows.row(i)) {
            *m += f64::from(*x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    // Covariance, upper triangle then mirrored.
    let mut cov = vec![0f64; d * d];
    let mut centred = vec![0f64; d];
    for i in 0..n {
        for ((c, x), m) in centred.iter_mut().zip(rows.row(i)).zip(&mean) {
            *c = f64::from(*x) - m;
        }
        for a in 0..d {
            let ca = centred[a];
            let row = &mut cov[a * d..(a + 1) * d];
            for b in a..d {
                row[b] += ca * centred[b];
            }
        }
    }
    let denom = (n.max(2) - 1) as f64;
    for a in 0..d {
        for b in a..d {
            let v = cov[a * d + b] / denom;
            cov[a * d + b] = v;
            cov[b * d + a] = v;
        }
    }
    let (values, vectors) = symmetric_eigen(cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&x, &y| values[y].total_cmp(&values[x]));
    // The kept eigenvectors (columns) as contiguous rows.
    let axes: Vec<f64> = order
        .into_iter()
        .take(keep)
        .flat_map(|k| (0..d).map(move |a| (a, k)))
        .map(|(a, k)| vectors[a * d + k])
        .collect();
    let mut data = Vec::with_capacity(n * keep);
    for i in 0..n {
        for ((c, x), m) in centred.iter_mut().zip(rows.row(i)).zip(&mean) {
            *c = f64::from(*x) - m;
        }
        for axis in axes.chunks_exact(d) {
            let dot: f64 = axis.iter().zip(&centred).map(|(a, c)| a * c).sum();
            data.push(dot as f32);
        }
    }
    TokenRows { dims: keep, data }
}

/// Row `i` (the `i`-th most frequent token, by Zipf) times `a / (a + p_i)`, with
/// `p_i ∝ 1 / (i + 2)`.
pub fn weight_by_zipf_rank(mut rows: TokenRows, a: f64) -> TokenRows {
    let n = rows.len();
    let total: f64 = (0..n).map(|i| 1.0 / (i as f64 + 2.0)).sum();
    let dims = rows.dims;
    for i in 0..n {
        let p = (1.0 / (i as f64 + 2.0)) / total;
        let w = (a / (a + p)) as f32;
        rows.data[i * dims..(i + 1) * dims]
            .iter_mut()
            .for_each(|x| *x *= w);
    }
    rows
}

/// Eigenvalues and eigenvectors (as the columns of a row-major `d × d` matrix) of the
/// symmetric matrix `m`, by cyclic Jacobi rotations.
pub fn symmetric_eigen(mut m: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = m
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..64 {
        let off: f64 = (0..d)
            .flat_map(|p| ((p + 1)..d).map(move |q| (p, q)))
            .map(|(p, q)| m[p * d + q] * m[p * d + q])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-12 * scale {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = m[p * d + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let (app, aqq) = (m[p * d + p], m[q * d + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let sign = if theta >= 0.0 { 1.0 } else { -1.0 };
                let t = sign / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[k * d + p], m[k * d + q]);
                    m[k * d + p] = c * mkp - s * mkq;
                    m[k * d + q] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[p * d + k], m[q * d + k]);
                    m[p * d + k] = c * mpk - s * mqk;
                    m[q * d + k] = s * mpk + c * mqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let values = (0..d).map(|i| m[i * d + i]).collect();
    (values, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_the_eigenpairs_of_a_symmetric_matrix() {
        // [[2,1],[1,2]]: eigenvalues 3 and 1, eigenvectors (1,1)/√2 and (1,-1)/√2.
        let (values, vectors) = symmetric_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-9 && (sorted[1] - 3.0).abs() < 1e-9);
        let big = if values[0] > values[1] { 0 } else { 1 };
        let (x, y) = (vectors[big], vectors[2 + big]);
        assert!((x.abs() - y.abs()).abs() < 1e-9 && x * y > 0.0, "{x} {y}");
        // A larger random symmetric matrix: M v = λ v for every pair.
        let d = 12;
        let mut m = vec![0f64; d * d];
        let mut seed = 7u64;
        for a in 0..d {
            for b in a..d {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                let x = ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
                m[a * d + b] = x;
                m[b * d + a] = x;
            }
        }
        let (values, vectors) = symmetric_eigen(m.clone(), d);
        for k in 0..d {
            for a in 0..d {
                let mv: f64 = (0..d).map(|b| m[a * d + b] * vectors[b * d + k]).sum();
                assert!((mv - values[k] * vectors[a * d + k]).abs() < 1e-8);
            }
        }
    }

    #[test]
    fn principal_components_keep_the_direction_of_most_variance() {
        // Points spread along (1, 1, 0), a little noise elsewhere.
        let mut data = Vec::new();
        for i in 0..50 {
            let t = i as f32 - 25.0;
            let noise = if i % 2 == 0 { 0.1 } else { -0.1 };
            data.extend([t + noise, t - noise, noise]);
        }
        let rows = TokenRows { dims: 3, data };
        let reduced = principal_components(&rows, 1);
        assert_eq!(reduced.dims, 1);
        assert_eq!(reduced.len(), 50);
        // The projection keeps the spread along the line: the first point lies 24.5 steps
        // of (1, 1, 0) from the mean, |24.5|·√2 (up to the noise).
        let first = reduced.row(0)[0].abs();
        assert!((first - 24.5 * 2f32.sqrt()).abs() < 0.2, "{first}");
        let mean: f32 = reduced.data.iter().sum::<f32>() / 50.0;
        assert!(mean.abs() < 1e-3);
    }

    #[test]
    fn frequent_tokens_weigh_less_than_rare_ones() {
        let rows = TokenRows {
            dims: 2,
            data: vec![1.0; 2 * 1000],
        };
        let w = weight_by_zipf_rank(rows, SIF_COEFFICIENT);
        assert!(w.row(0)[0] < w.row(10)[0]);
        assert!(w.row(10)[0] < w.row(999)[0]);
        assert!(w.row(999)[0] <= 1.0);
    }
}

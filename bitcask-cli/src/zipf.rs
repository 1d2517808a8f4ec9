//! YCSB's scrambled zipfian key choice (theta 0.99), for `bench`'s YCSB workloads. Also
//! compiled into the comparison bench (`compare/`), so both draw keys the same way.

/// A 64-bit mix of `x` (splitmix64's finalizer): the random source, from an op number.
pub fn mix(x: u64) -> u64 {
    let mut x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A uniform number in [0, 1) from 64 random bits.
pub fn unit(r: u64) -> f64 {
    (r >> 11) as f64 / (1u64 << 53) as f64
}

/// Zipfian choice over `n` items as YCSB's `ScrambledZipfianGenerator` makes it: popular
/// items are spread over the key space.
pub struct Zipf {
    n: u64,
    zetan: f64,
    alpha: f64,
    eta: f64,
    half_pow: f64,
}

const THETA: f64 = 0.99;

impl Zipf {
    /// The distribution over `n` (at least 1) items; computing it costs O(n) once.
    pub fn new(n: u64) -> Zipf {
        let n = n.max(1);
        let zetan: f64 = (1..=n).map(|i| 1.0 / (i as f64).powf(THETA)).sum();
        let half_pow = 0.5f64.powf(THETA);
        let zeta2 = 1.0 + half_pow;
        let eta = (1.0 - (2.0 / n as f64).powf(1.0 - THETA)) / (1.0 - zeta2 / zetan);
        Zipf { n, zetan, alpha: 1.0 / (1.0 - THETA), eta, half_pow }
    }

    /// The item for 64 random bits `r`.
    pub fn sample(&self, r: u64) -> u64 {
        let u = unit(r);
        let uz = u * self.zetan;
        let rank = if uz < 1.0 {
            0
        } else if uz < 1.0 + self.half_pow {
            1
        } else {
            ((self.n as f64) * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64
        };
        mix(rank.min(self.n - 1) ^ 0xcbf2_9ce4_8422_2325) % self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popular_items_are_drawn_far_more_often_and_all_stay_in_range() {
        let z = Zipf::new(1000);
        let mut counts = vec![0u32; 1000];
        for i in 0..100_000 {
            counts[z.sample(mix(i)) as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        // Theta 0.99 over 1000 items: the top item takes about 13%, the top 10 about 39%.
        assert!(counts[0] > 8_000 && counts[0] < 18_000, "{}", counts[0]);
        let top10: u32 = counts[..10].iter().sum();
        assert!(top10 > 30_000 && top10 < 48_000, "{top10}");
        assert!(counts[999] < 100);
    }
}

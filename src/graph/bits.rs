//! A fixed-size bit vector over dense indexes (edges or nodes): one bit each, no hashing.

/// A fixed-length set of bits.
#[derive(Clone, Debug, Default)]
pub struct BitSet {
    words: Vec<u64>,
    len: usize,
}

impl BitSet {
    /// `len` bits, all clear.
    pub fn new(len: usize) -> BitSet {
        BitSet {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no bits at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.words[i >> 6] & (1 << (i & 63)) != 0
    }

    #[inline]
    pub fn set(&mut self, i: usize) {
        self.words[i >> 6] |= 1 << (i & 63);
    }

    #[inline]
    pub fn clear(&mut self, i: usize) {
        self.words[i >> 6] &= !(1 << (i & 63));
    }

    /// The bits as 64-bit words, bit `i` in word `i / 64` (what an index file stores).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// A set of `len` bits from its words, or `None` when their number does not fit `len`.
    pub fn from_words(words: Vec<u64>, len: usize) -> Option<BitSet> {
        (words.len() == len.div_ceil(64)).then_some(BitSet { words, len })
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Builds the set from a per-index predicate, in parallel over 64-bit words.
    pub fn from_fn_par(len: usize, f: impl Fn(usize) -> bool + Sync) -> BitSet {
        use rayon::prelude::*;
        let words = (0..len.div_ceil(64))
            .into_par_iter()
            .map(|w| {
                let base = w * 64;
                let end = (base + 64).min(len);
                let mut word = 0u64;
                for i in base..end {
                    if f(i) {
                        word |= 1 << (i - base);
                    }
                }
                word
            })
            .collect();
        BitSet { words, len }
    }
}

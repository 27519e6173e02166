//! An append-only vector in fixed-size chunks, for the recorder's per-instruction logs:
//! growing it never copies what it holds (a `Vec` doubling through hundreds of megabytes
//! copies them, and faults in twice the pages).

use std::ops::{Index, Range};

/// Items per chunk.
const CHUNK: usize = 1 << 16;

/// An append-only vector stored as chunks of [`CHUNK`] items (every chunk full but the last).
#[derive(Clone, Debug)]
pub(crate) struct ChunkedVec<T> {
    full: Vec<Vec<T>>,
    last: Vec<T>,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        Self { full: Vec::new(), last: Vec::new() }
    }
}

impl<T> ChunkedVec<T> {
    /// Appends `value`.
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        if self.last.len() == CHUNK {
            self.spill();
        }
        self.last.push(value);
    }

    /// Moves the full last chunk out and starts a new one at its final capacity.
    #[cold]
    #[inline(never)]
    fn spill(&mut self) {
        let full = std::mem::replace(&mut self.last, Vec::with_capacity(CHUNK));
        self.full.push(full);
    }

    /// The number of items.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.full.len() * CHUNK + self.last.len()
    }

    /// The items in `range`, in order.
    ///
    /// # Panics
    ///
    /// When `range` reaches past the end, like slicing.
    pub(crate) fn range(&self, range: Range<usize>) -> impl Iterator<Item = &T> {
        assert!(range.start <= range.end && range.end <= self.len(), "range out of bounds");
        let chunks =
            if range.is_empty() { 0..0 } else { range.start / CHUNK..(range.end - 1) / CHUNK + 1 };
        chunks.flat_map(move |k| {
            let chunk = self.chunk(k);
            let from = range.start.max(k * CHUNK) - k * CHUNK;
            let to = range.end.min((k + 1) * CHUNK) - k * CHUNK;
            chunk[from..to].iter()
        })
    }

    /// The item at `index`, if there is one.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        (index < self.len()).then(|| &self[index])
    }

    fn chunk(&self, k: usize) -> &[T] {
        self.full.get(k).map_or(&self.last, |chunk| chunk)
    }
}

impl<T> Index<usize> for ChunkedVec<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: usize) -> &T {
        &self.chunk(index / CHUNK)[index % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_and_ranges_match_a_vec() {
        let mut chunked = ChunkedVec::default();
        let n = 3 * CHUNK + 17;
        for i in 0..n {
            chunked.push(i);
        }
        assert_eq!(chunked.len(), n);
        assert_eq!(chunked[CHUNK - 1], CHUNK - 1);
        assert_eq!(chunked[2 * CHUNK + 5], 2 * CHUNK + 5);
        for (start, end) in [(0, n), (5, 5), (CHUNK - 3, CHUNK + 3), (CHUNK, 2 * CHUNK), (n - 1, n)]
        {
            let got: Vec<usize> = chunked.range(start..end).copied().collect();
            assert_eq!(got, (start..end).collect::<Vec<_>>());
        }
    }
}

//! Compressed sparse rows, and the product of such a matrix with a dense row-major one, parallel
//! over rows: `Y (rows×d) = A · X (cols×d)`.
//!
//! ```
//! use dlp_kg::align::sparse::Csr;
//! // A = [[1, 2], [0, 3]]; duplicates are summed.
//! let a = Csr::new(2, vec![(0, 0, 1.0), (0, 1, 1.0), (0, 1, 1.0), (1, 1, 3.0)]);
//! let y = a.matmul(&[1.0, 10.0], 1);
//! assert_eq!(y, [21.0, 30.0]);
//! ```

use rayon::prelude::*;

/// A sparse matrix in CSR form.
#[derive(Debug, Clone)]
pub struct Csr {
    /// Row `i` holds entries `ptr[i]..ptr[i + 1]`.
    pub ptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<f32>,
}

impl Csr {
    /// Builds a `rows`-row matrix from (row, column, value) entries, summing duplicates.
    pub fn new(rows: usize, mut entries: Vec<(u32, u32, f32)>) -> Self {
        entries.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut ptr = vec![0usize; rows + 1];
        let mut cols: Vec<u32> = Vec::with_capacity(entries.len());
        let mut vals: Vec<f32> = Vec::with_capacity(entries.len());
        let mut last = None;
        for (r, c, v) in entries {
            if last == Some((r, c)) {
                *vals.last_mut().expect("an entry was pushed") += v;
                continue;
            }
            last = Some((r, c));
            ptr[r as usize + 1] += 1;
            cols.push(c);
            vals.push(v);
        }
        for i in 0..rows {
            ptr[i + 1] += ptr[i];
        }
        Csr { ptr, cols, vals }
    }

    /// Like [`Csr::new`] with every stored value set to 1 (an unweighted incidence).
    pub fn binary(rows: usize, entries: impl IntoIterator<Item = (u32, u32)>) -> Self {
        let mut m = Self::new(
            rows,
            entries.into_iter().map(|(r, c)| (r, c, 1.0)).collect(),
        );
        m.vals.fill(1.0);
        m
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ptr.len() - 1
    }

    /// The (column, value) entries of row `i`.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = self.ptr[i]..self.ptr[i + 1];
        self.cols[r.clone()]
            .iter()
            .zip(&self.vals[r])
            .map(|(&c, &v)| (c as usize, v))
    }

    /// `A · X` for `X` with `d` columns, row-major.
    pub fn matmul(&self, x: &[f32], d: usize) -> Vec<f32> {
        let mut y = vec![0.0f32; self.rows() * d];
        y.par_chunks_mut(d.max(1)).enumerate().for_each(|(i, yi)| {
            for (c, v) in self.row(i) {
                for (o, &xv) in yi.iter_mut().zip(&x[c * d..(c + 1) * d]) {
                    *o += v * xv;
                }
            }
        });
        y
    }
}

/// Scales each `d`-wide row of `x` to unit L2 norm (rows of zeros stay zero).
pub fn normalize_rows(x: &mut [f32], d: usize) {
    x.par_chunks_mut(d.max(1)).for_each(|row| {
        let n = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if n > 0.0 {
            row.iter_mut().for_each(|v| *v /= n);
        }
    });
}

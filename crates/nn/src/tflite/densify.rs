//! Sparse constant tensors (TFLite's DENSIFY) expanded to dense ones.
//!
//! The stored values are visited in traversal order: one level per dimension, original
//! dimensions first, then block dimensions. A dense level enumerates its size; a sparse
//! (CSR) level enumerates the indices its segment lists. At the last level the original
//! position is rebuilt from the per-level indices and the next stored value lands there.

use super::schema::{DimStorage, Sparsity};
use super::TfliteError;

/// Expands `values` (one element each, in storage order) into a dense row-major tensor of
/// `shape`; `zero` fills the positions the sparse format leaves out.
pub fn densify<T: Copy>(
    sparsity: &Sparsity,
    shape: &[usize],
    values: &[T],
    zero: T,
) -> Result<Vec<T>, TfliteError> {
    let levels = sparsity.dims.len();
    let rank = shape.len();
    let bad = |what: String| TfliteError::Malformed(format!("sparse tensor: {what}"));
    if sparsity.traversal_order.len() != levels
        || levels < rank
        || sparsity.block_map.len() != levels - rank
        || sparsity.traversal_order.iter().any(|&d| d >= levels)
    {
        return Err(bad(format!(
            "{levels} storage levels, traversal order {:?} and {} block dimensions for a rank-{rank} tensor",
            sparsity.traversal_order,
            sparsity.block_map.len()
        )));
    }
    // Size of each traversed dimension, for block sizes and bounds checks.
    let level_size = |level: usize| match &sparsity.dims[level] {
        DimStorage::Dense { size } => *size,
        DimStorage::Sparse { .. } => usize::MAX,
    };
    let mut block_size = vec![1usize; rank];
    for (k, &dim) in sparsity.block_map.iter().enumerate() {
        let level = sparsity
            .traversal_order
            .iter()
            .position(|&d| d == rank + k)
            .ok_or_else(|| bad("a block dimension is never traversed".into()))?;
        if dim >= rank {
            return Err(bad(format!(
                "block dimension maps to dimension {dim} of {rank}"
            )));
        }
        block_size[dim] = level_size(level);
    }
    let total = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
    let mut dense = vec![zero; total];
    let mut state = Walk {
        sparsity,
        shape,
        rank,
        block_size,
        values,
        dense: &mut dense,
        indices: vec![0; levels],
        next_value: 0,
    };
    state.visit(0, 0)?;
    if state.next_value != values.len() {
        return Err(bad(format!(
            "{} values stored but {} positions described",
            values.len(),
            state.next_value
        )));
    }
    Ok(dense)
}

struct Walk<'a, T> {
    sparsity: &'a Sparsity,
    shape: &'a [usize],
    rank: usize,
    block_size: Vec<usize>,
    values: &'a [T],
    dense: &'a mut [T],
    /// The index reached at each storage level.
    indices: Vec<usize>,
    next_value: usize,
}

impl<T: Copy> Walk<'_, T> {
    fn visit(&mut self, level: usize, parent: usize) -> Result<(), TfliteError> {
        let bad = |what: String| TfliteError::Malformed(format!("sparse tensor: {what}"));
        if level == self.indices.len() {
            let value = *self
                .values
                .get(self.next_value)
                .ok_or_else(|| bad("fewer values stored than positions described".into()))?;
            self.next_value += 1;
            let position = self
                .position()
                .ok_or_else(|| bad("a stored index lies outside the tensor".into()))?;
            self.dense[position] = value;
            return Ok(());
        }
        match &self.sparsity.dims[level] {
            DimStorage::Dense { size } => {
                for i in 0..*size {
                    self.indices[level] = i;
                    let child = parent
                        .checked_mul(*size)
                        .and_then(|p| p.checked_add(i))
                        .ok_or_else(|| bad(format!("dense level {level} overflows")))?;
                    self.visit(level + 1, child)?;
                }
            }
            DimStorage::Sparse { segments, indices } => {
                let (start, end) = (
                    *segments
                        .get(parent)
                        .ok_or_else(|| bad(format!("segment {parent} missing")))?,
                    *parent
                        .checked_add(1)
                        .and_then(|next| segments.get(next))
                        .ok_or_else(|| bad(format!("segment {parent} has no end")))?,
                );
                for j in start..end {
                    self.indices[level] = *indices
                        .get(j)
                        .ok_or_else(|| bad(format!("index {j} missing")))?;
                    self.visit(level + 1, j)?;
                }
            }
        }
        Ok(())
    }

    /// The row-major offset of the current per-level indices, or `None` when out of bounds.
    /// `densify` checked that every traversed dimension is an original or a block one.
    fn position(&self) -> Option<usize> {
        let mut coords = vec![0usize; self.rank];
        for (level, &dim) in self.sparsity.traversal_order.iter().enumerate() {
            let index = *self.indices.get(level)?;
            let (target, step) = match dim.checked_sub(self.rank) {
                None => (dim, *self.block_size.get(dim)?),
                Some(block) => (*self.sparsity.block_map.get(block)?, 1),
            };
            let coord = coords.get_mut(target)?;
            *coord = coord.checked_add(index.checked_mul(step)?)?;
        }
        let mut offset = 0usize;
        for (coord, &size) in coords.iter().zip(self.shape) {
            if *coord >= size {
                return None;
            }
            offset = offset.checked_mul(size)?.checked_add(*coord)?;
        }
        Some(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_matrix_expands_to_its_dense_form() {
        // [[1, 0, 2], [0, 0, 3]] as dense rows and sparse columns.
        let sparsity = Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            dims: vec![
                DimStorage::Dense { size: 2 },
                DimStorage::Sparse {
                    segments: vec![0, 2, 3],
                    indices: vec![0, 2, 2],
                },
            ],
        };
        let dense = densify(&sparsity, &[2, 3], &[1.0, 2.0, 3.0], 0.0).unwrap();
        assert_eq!(dense, [1.0, 0.0, 2.0, 0.0, 0.0, 3.0]);
    }

    #[test]
    fn block_sparse_matrix_expands_blocks_in_place() {
        // A 2x4 matrix in 1x2 blocks: block row 0 holds block 1, block row 1 holds block 0.
        let sparsity = Sparsity {
            traversal_order: vec![0, 1, 2],
            block_map: vec![1],
            dims: vec![
                DimStorage::Dense { size: 2 },
                DimStorage::Sparse {
                    segments: vec![0, 1, 2],
                    indices: vec![1, 0],
                },
                DimStorage::Dense { size: 2 },
            ],
        };
        let dense = densify(&sparsity, &[2, 4], &[1, 2, 3, 4], 0).unwrap();
        assert_eq!(dense, [0, 0, 1, 2, 3, 4, 0, 0]);
    }

    /// Metadata read from a file that indexes past its own tables is an error, not an
    /// index panic: a traversal entry beyond the levels, a sparse level as a block's size.
    #[test]
    fn out_of_range_metadata_is_an_error_not_a_panic() {
        let dims = || {
            vec![
                DimStorage::Dense { size: 2 },
                DimStorage::Sparse {
                    segments: vec![0, 1, 2],
                    indices: vec![1, 0],
                },
                DimStorage::Dense { size: 2 },
            ]
        };
        let beyond_levels = Sparsity {
            traversal_order: vec![0, 2, 7],
            block_map: vec![1],
            dims: dims(),
        };
        assert!(densify(&beyond_levels, &[2, 4], &[1, 2, 3, 4], 0).is_err());
        // The block dimension traversed at a sparse level: an unbounded block size.
        let sparse_block = Sparsity {
            traversal_order: vec![0, 2, 1],
            block_map: vec![1],
            dims: dims(),
        };
        assert!(densify(&sparse_block, &[2, 4], &[1, 2, 3, 4], 0).is_err());
        let huge = Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            dims: vec![DimStorage::Dense { size: 2 }, DimStorage::Dense { size: 2 }],
        };
        assert!(densify(&huge, &[usize::MAX, 3], &[1, 2, 3, 4], 0).is_err());
    }

    #[test]
    fn inconsistent_metadata_is_an_error() {
        let sparsity = Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            dims: vec![
                DimStorage::Dense { size: 2 },
                DimStorage::Sparse {
                    segments: vec![0, 5],
                    indices: vec![0],
                },
            ],
        };
        assert!(densify(&sparsity, &[2, 3], &[1.0], 0.0).is_err());
    }
}

//! One column of heap data: a slice of plain numbers that is either owned (built by the parser
//! and the graph) or borrowed from a memory-mapped index file ([`crate::index`]). Both read the
//! same through `Deref<Target = [T]>`, so analysis code never knows which it has.
//!
//! A column keeps what it points into alive (an `Arc` of the vector or of the mapping), so a
//! clone shares the values instead of copying them, and a graph loaded from an index owns
//! everything it points into.
//!
//! A mapped column is checked when it is first read, not when the index is opened: the index
//! reader checks each section's bounds and alignment, and the first read of the column hashes
//! it against the checksum the index recorded. So a command pays to read (and check) only the
//! columns it uses, and a damaged column is never used: the read panics with a
//! [`DamagedSection`] payload, which [`crate::index::recover`] turns into a rebuild.

use std::fmt;
use std::ops::Deref;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

use bytemuck::Pod;
use memmap2::Mmap;

/// A read-only column of `T`, owned or mapped.
pub struct Column<T: Pod> {
    /// Start of the data: the vector's buffer or a place inside the mapping.
    ptr: NonNull<T>,
    len: usize,
    /// What keeps `ptr` valid. Never read but to share or take it: a vector's buffer and a
    /// mapping stay put while their `Arc` lives.
    _owner: Owner<T>,
}

enum Owner<T> {
    Vec(Arc<Vec<T>>),
    Mapped(Arc<MappedSection>),
}

/// One section of a mapped index file, with the checksum its bytes must have.
pub struct MappedSection {
    map: Arc<Mmap>,
    offset: usize,
    bytes: usize,
    hash: u64,
    /// Whether the bytes matched the checksum, once they were hashed.
    checked: OnceLock<bool>,
    /// What a failed check reports.
    damage: DamagedSection,
}

/// The panic payload of a read of a damaged index section: which index and which section.
#[derive(Debug, Clone)]
pub struct DamagedSection {
    pub index: PathBuf,
    pub section: String,
}

impl MappedSection {
    /// The `bytes` bytes at `offset` of `map` (the index file at `index`), which must hash to
    /// `hash`; `None` when they are outside the map.
    pub fn new(
        map: &Arc<Mmap>,
        index: PathBuf,
        section: String,
        offset: usize,
        bytes: usize,
        hash: u64,
    ) -> Option<MappedSection> {
        map.get(offset..offset.checked_add(bytes)?)?;
        Some(MappedSection {
            map: Arc::clone(map),
            offset,
            bytes,
            hash,
            checked: OnceLock::new(),
            damage: DamagedSection { index, section },
        })
    }

    /// `bytes` zero bytes that stand for a section the index did not store (all zeros):
    /// an anonymous mapping, which costs nothing until read and then maps the zero page.
    pub fn zeros(index: PathBuf, section: String, bytes: usize) -> std::io::Result<MappedSection> {
        let map = memmap2::MmapMut::map_anon(bytes.max(1))?.make_read_only()?;
        let checked = OnceLock::new();
        let _ = checked.set(true);
        Ok(MappedSection {
            map: Arc::new(map),
            offset: 0,
            bytes,
            hash: 0,
            checked,
            damage: DamagedSection { index, section },
        })
    }

    /// The section's bytes, unchecked.
    fn raw(&self) -> &[u8] {
        &self.map[self.offset..self.offset + self.bytes]
    }

    /// Hashes the section the first time; panics with [`DamagedSection`] when it does not
    /// match.
    #[inline]
    fn ensure_checked(&self) {
        if self.checked.get() != Some(&true) {
            self.check_slow();
        }
    }

    #[cold]
    fn check_slow(&self) {
        let ok = *self
            .checked
            .get_or_init(|| xxhash_rust::xxh3::xxh3_64(self.raw()) == self.hash);
        if !ok {
            std::panic::panic_any(self.damage.clone());
        }
    }

    /// Whether the section matches its checksum (hashing it if that was not done yet).
    pub fn is_intact(&self) -> bool {
        *self
            .checked
            .get_or_init(|| xxhash_rust::xxh3::xxh3_64(self.raw()) == self.hash)
    }
}

/// Something made of index columns: it says whether they match their checksums, or checks
/// them so that a damaged one panics with [`DamagedSection`] (for [`crate::index::recover`]).
/// Owned data is always intact.
pub trait Checked {
    fn is_intact(&self) -> bool;
    fn check(&self);
}

impl<T: Pod> Checked for Column<T> {
    fn is_intact(&self) -> bool {
        Column::is_intact(self)
    }

    fn check(&self) {
        if let Owner::Mapped(section) = &self._owner {
            section.ensure_checked();
        }
    }
}

// SAFETY: a column is immutable shared data (a vector nobody mutates, or a read-only mapping);
// `T: Pod` has no interior mutability, so sharing or sending it across threads is as safe as
// sharing a `&[T]`.
unsafe impl<T: Pod + Send> Send for Column<T> {}
unsafe impl<T: Pod + Sync> Sync for Column<T> {}

impl<T: Pod> Column<T> {
    /// An empty column.
    pub fn new() -> Column<T> {
        Vec::new().into()
    }

    /// The values of `section`, or `None` when it is not whole values of `T` or not aligned
    /// for `T`. Nothing is read until the column is.
    pub fn mapped(section: Arc<MappedSection>) -> Option<Column<T>> {
        let typed: &[T] = bytemuck::try_cast_slice(section.raw()).ok()?;
        Some(Column {
            ptr: NonNull::from(typed).cast(),
            len: typed.len(),
            _owner: Owner::Mapped(section),
        })
    }

    /// `values` as a column, or, when every value is zero (a field V8 leaves empty, such as
    /// trace ids when allocations were not tracked), as zero pages that take no memory until
    /// read: the vector is freed.
    pub fn zeros_freed(values: Vec<T>) -> Column<T> {
        use rayon::prelude::*;
        let all_zero = bytemuck::cast_slice::<T, u8>(&values)
            .par_chunks(1 << 20)
            .all(|chunk| chunk.iter().all(|&b| b == 0));
        if !all_zero || values.is_empty() {
            return values.into();
        }
        let bytes = std::mem::size_of_val(values.as_slice());
        match MappedSection::zeros(PathBuf::new(), String::new(), bytes) {
            Ok(zeros) => Column::mapped(Arc::new(zeros)).unwrap_or_else(|| values.into()),
            Err(_) => values.into(),
        }
    }

    /// Number of values (without reading, so without checking, a mapped column).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the values live in a mapped index file.
    pub fn is_mapped(&self) -> bool {
        matches!(self._owner, Owner::Mapped(_))
    }

    /// Checks a mapped column against its checksum now (an owned one is always intact).
    pub fn is_intact(&self) -> bool {
        match &self._owner {
            Owner::Vec(_) => true,
            Owner::Mapped(section) => section.is_intact(),
        }
    }

    /// The values as an owned vector (a copy when mapped).
    pub fn into_vec(self) -> Vec<T> {
        match self._owner {
            Owner::Vec(v) => Arc::try_unwrap(v).unwrap_or_else(|shared| shared.to_vec()),
            Owner::Mapped(section) => {
                section.ensure_checked();
                // SAFETY: as in `deref`; `section` keeps the data alive until the copy is made.
                let values = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) };
                let copy = values.to_vec();
                drop(section);
                copy
            }
        }
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Column::new()
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(v: Vec<T>) -> Column<T> {
        // An empty vector's pointer is dangling but aligned, which is what a zero-length
        // slice needs.
        let ptr = NonNull::new(v.as_ptr() as *mut T).unwrap_or(NonNull::dangling());
        Column {
            ptr,
            len: v.len(),
            _owner: Owner::Vec(Arc::new(v)),
        }
    }
}

impl<T: Pod> FromIterator<T> for Column<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        if let Owner::Mapped(section) = &self._owner {
            section.ensure_checked();
        }
        // SAFETY: `ptr` and `len` describe a live, aligned, initialised slice owned by
        // `_owner` (checked when built), and nothing mutates it while the column lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Pod> Clone for Column<T> {
    fn clone(&self) -> Self {
        let owner = match &self._owner {
            Owner::Vec(v) => Owner::Vec(Arc::clone(v)),
            Owner::Mapped(section) => Owner::Mapped(Arc::clone(section)),
        };
        Column {
            ptr: self.ptr,
            len: self.len,
            _owner: owner,
        }
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Pod + PartialEq> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        self.deref() == other.deref()
    }
}

impl<'a, T: Pod> IntoIterator for &'a Column<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_columns_read_like_their_vector() {
        let c: Column<u32> = vec![3, 1, 4].into();
        assert_eq!(&c[..], &[3, 1, 4]);
        assert_eq!(c.clone().into_vec(), vec![3, 1, 4]);
        assert!(!c.is_mapped());
        let empty: Column<u64> = Column::new();
        assert!(empty.is_empty());
    }

    fn map_of(words: &[u32]) -> Arc<Mmap> {
        use std::io::Write;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytemuck::cast_slice(words)).unwrap();
        Arc::new(unsafe { Mmap::map(&file) }.unwrap())
    }

    fn section(map: &Arc<Mmap>, offset: usize, bytes: usize, hash: u64) -> Arc<MappedSection> {
        Arc::new(MappedSection::new(map, "idx".into(), "s".into(), offset, bytes, hash).unwrap())
    }

    #[test]
    fn mapped_columns_check_bounds_alignment_and_checksum() {
        let words: Vec<u32> = (0..16).collect();
        let map = map_of(&words);
        let hash = xxhash_rust::xxh3::xxh3_64(&map[8..24]);
        let c = Column::<u32>::mapped(section(&map, 8, 16, hash)).unwrap();
        assert_eq!(&c[..], &[2, 3, 4, 5]);
        assert!(c.is_mapped() && c.is_intact());
        let copy = c.clone();
        drop(c);
        assert_eq!(copy.into_vec(), vec![2, 3, 4, 5]);
        let misaligned = xxhash_rust::xxh3::xxh3_64(&map[2..6]);
        assert!(Column::<u32>::mapped(section(&map, 2, 4, misaligned)).is_none());
        assert!(
            Column::<u64>::mapped(section(&map, 0, 12, 0)).is_none(),
            "not whole"
        );
        assert!(MappedSection::new(&map, "i".into(), "s".into(), 60, 8, 0).is_none());
        assert!(MappedSection::new(&map, "i".into(), "s".into(), usize::MAX, 8, 0).is_none());
    }

    #[test]
    fn a_damaged_mapped_column_panics_with_its_section_on_first_read() {
        let map = map_of(&[1, 2, 3, 4]);
        let c = Column::<u32>::mapped(section(&map, 0, 16, 12345)).unwrap();
        assert!(!c.is_intact());
        let payload = std::panic::catch_unwind(|| c[0]).unwrap_err();
        let damage = payload.downcast_ref::<DamagedSection>().unwrap();
        assert_eq!(damage.section, "s");
    }
}

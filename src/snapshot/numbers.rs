//! The hot path: parsing the big integer arrays (`nodes`, `edges`, `locations`, …) in parallel.
//!
//! An array body is split into chunks that each hold whole records (a node is `node_width`
//! numbers), found by counting commas in parallel and then nudging each boundary forward to the
//! next record start. Each chunk is then parsed by one rayon task straight into its own
//! sub-slices of the output columns, so no intermediate flat array is ever built.

use std::ops::Range;

use rayon::prelude::*;

/// Below this size a chunk is not worth a task of its own.
const MIN_CHUNK_BYTES: usize = 1 << 20;

/// A run of whole records inside an array body: absolute byte range and record numbers.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub bytes: Range<usize>,
    pub records: usize,
}

/// Why a number array could not be parsed; the caller adds the file and section.
#[derive(Debug)]
pub(crate) struct NumberError {
    pub offset: usize,
    pub problem: String,
}

impl NumberError {
    fn at(offset: usize, problem: impl Into<String>) -> Self {
        NumberError {
            offset,
            problem: problem.into(),
        }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Counts commas. memchr's SIMD search counts them about four times as fast as a plain
/// filter that the compiler vectorises (README, Speed: measured choices).
fn count_commas(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b',', bytes).count()
}

/// Position just after the `n`-th comma at or after `from` (n ≥ 1), or `None`.
fn after_commas(text: &[u8], from: usize, end: usize, n: usize) -> Option<usize> {
    let mut pos = from;
    for _ in 0..n {
        let rel = memchr_comma(&text[pos..end])?;
        pos += rel + 1;
    }
    Some(pos)
}

fn memchr_comma(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b',', bytes)
}

/// Splits the array body `body` (between `[` and `]`) of `text` into chunks of whole records of
/// `width` numbers. Returns the chunks and the total number of records. `done_with` is told
/// each stretch of `text` once it has been counted (see [`Source::release`]).
///
/// [`Source::release`]: super::source::Source::release
pub(crate) fn split_records(
    text: &[u8],
    body: Range<usize>,
    width: usize,
    done_with: &(dyn Fn(Range<usize>) + Sync),
) -> Result<(Vec<Chunk>, usize), NumberError> {
    if width == 0 || width > crate::snapshot::header::MAX_RECORD_WIDTH {
        // `Layout::from_meta` refuses such layouts; this keeps `parse_chunk`'s record array safe.
        return Err(NumberError::at(
            body.start,
            format!("records of {width} numbers are not supported"),
        ));
    }
    let bytes = &text[body.clone()];
    let Some(last) = bytes.iter().rposition(|&b| !is_ws(b)) else {
        return Ok((Vec::new(), 0));
    };
    if bytes[last] == b',' {
        return Err(NumberError::at(
            body.start + last,
            "a comma with no number after it",
        ));
    }
    // Raw boundaries, each just after a comma so that every chunk starts at a number.
    let threads = rayon::current_num_threads().max(1);
    let wanted = (bytes.len() / MIN_CHUNK_BYTES).clamp(1, threads * 8);
    let mut bounds = vec![body.start];
    for k in 1..wanted {
        let guess = body.start + bytes.len() / wanted * k;
        if guess <= *bounds.last().unwrap_or(&body.start) {
            continue;
        }
        match after_commas(text, guess, body.end, 1) {
            Some(b) if b < body.end => bounds.push(b),
            _ => break,
        }
    }
    bounds.dedup();
    bounds.push(body.end);
    let commas: Vec<usize> = bounds
        .par_windows(2)
        .map(|w| {
            let commas = count_commas(&text[w[0]..w[1]]);
            done_with(w[0]..w[1]);
            commas
        })
        .collect();
    let total_values = commas.iter().sum::<usize>() + 1;
    if total_values % width != 0 {
        return Err(NumberError::at(
            body.end,
            format!(
                "holds {total_values} numbers, which is not a whole number of records of {width}"
            ),
        ));
    }
    // Move each inner boundary forward to the next record start.
    let mut aligned: Vec<(usize, usize)> = vec![(body.start, 0)]; // (byte, value index)
    let mut value_index = 0usize;
    for (k, &b) in bounds.iter().enumerate().skip(1).take(bounds.len() - 2) {
        value_index += commas[k - 1];
        let skip = (width - value_index % width) % width;
        let (byte, values) = if skip == 0 {
            (b, value_index)
        } else {
            match after_commas(text, b, body.end, skip) {
                Some(pos) => (pos, value_index + skip),
                None => continue,
            }
        };
        let (last_byte, _) = *aligned.last().unwrap_or(&(body.start, 0));
        if byte > last_byte && byte < body.end {
            aligned.push((byte, values));
        }
    }
    aligned.push((body.end, total_values));
    let chunks = aligned
        .windows(2)
        .map(|w| Chunk {
            bytes: w[0].0..w[1].0,
            records: (w[1].1 - w[0].1) / width,
        })
        .collect();
    Ok((chunks, total_values / width))
}

/// Parses the records of one chunk, calling `on_record(i, record)` for the chunk's `i`-th record.
/// Only non-negative integers separated by commas and whitespace are accepted.
pub(crate) fn parse_chunk<F>(
    text: &[u8],
    chunk: &Chunk,
    width: usize,
    mut on_record: F,
) -> Result<(), NumberError>
where
    F: FnMut(usize, &[u64]) -> Result<(), String>,
{
    let base = chunk.bytes.start;
    let bytes = &text[chunk.bytes.clone()];
    let n = bytes.len();
    let mut record = [0u64; crate::snapshot::header::MAX_RECORD_WIDTH];
    let mut field = 0usize;
    let mut index = 0usize;
    let mut i = 0usize;
    loop {
        while i < n && is_ws(bytes[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        let mut value: u64 = 0;
        while i < n {
            let digit = bytes[i].wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
            i += 1;
        }
        if i == start {
            let found = bytes[i];
            let what = if found == b'-' {
                "a negative number".to_string()
            } else {
                format!("unexpected character {:?}", char::from(found))
            };
            return Err(NumberError::at(
                base + i,
                format!("{what} where a number was expected"),
            ));
        }
        if i - start > 19 {
            return Err(NumberError::at(
                base + start,
                "a number too large for 64 bits",
            ));
        }
        record[field] = value;
        field += 1;
        if field == width {
            on_record(index, &record[..width])
                .map_err(|problem| NumberError::at(base + start, problem))?;
            index += 1;
            field = 0;
        }
        while i < n && is_ws(bytes[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        if bytes[i] != b',' {
            return Err(NumberError::at(
                base + i,
                format!(
                    "unexpected character {:?} after a number",
                    char::from(bytes[i])
                ),
            ));
        }
        i += 1;
    }
    if field != 0 || index != chunk.records {
        return Err(NumberError::at(
            base + n,
            "records do not line up (a number is missing or extra)",
        ));
    }
    Ok(())
}

/// Splits `slice` into consecutive sub-slices of the given lengths.
pub(crate) fn split_lengths<T>(
    mut slice: &mut [T],
    lengths: impl Iterator<Item = usize>,
) -> Vec<&mut [T]> {
    let mut parts = Vec::new();
    for len in lengths {
        let (head, tail) = slice.split_at_mut(len);
        parts.push(head);
        slice = tail;
    }
    parts
}

/// Parses a whole small array sequentially into a flat vector (locations, trace infos).
pub(crate) fn parse_flat(
    text: &[u8],
    body: Range<usize>,
    width: usize,
) -> Result<Vec<u64>, NumberError> {
    let (chunks, records) = split_records(text, body, width, &|_| {})?;
    let mut out = Vec::with_capacity(records * width);
    for chunk in &chunks {
        parse_chunk(text, chunk, width, |_, rec| {
            out.extend_from_slice(rec);
            Ok(())
        })?;
    }
    Ok(out)
}

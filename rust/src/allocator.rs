//! How the extension's allocator (mimalloc, see `lib.rs`) gets and keeps memory from the operating system.
//!
//! The worker frees a batch's buffers (decoded columns, opened envelopes) and allocates the next batch's moments
//! later. Two of mimalloc's defaults made those allocations fresh pages, each zeroed by the kernel on its first
//! write: it returns ("purges") freed pages after 1 s, and it asks for transparent huge pages, so a first write
//! zeroed 2 MiB at once. Profiled with `perf` on the envelope path into BigQuery and the lake, a third of the
//! worker's CPU was the kernel clearing huge pages. Built without huge-page advice (the crate's `no_thp` feature,
//! `Cargo.toml`) and keeping freed pages 10 s, medians of five runs of 200,000 receipts: 3.36 and 3.49 → 2.99 and
//! 3.12 CPU µs/event, system time 0.74–0.79 → 0.40–0.46 µs/event. Memory freed and not reused is still handed
//! back, 10 s later.

/// Milliseconds freed pages are kept for reuse, unless `MIMALLOC_PURGE_DELAY` says otherwise.
pub const PURGE_DELAY_MS: i64 = 10_000;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc 3, `include/mimalloc.h`; the enum keeps
/// deprecated entries so the numbers stay).
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
/// mimalloc's own default for it: read first, so a different numbering is noticed and nothing is changed.
#[cfg(feature = "mimalloc")]
const MI_DEFAULT_PURGE_DELAY: std::ffi::c_long = 1_000;

#[cfg(feature = "mimalloc")]
extern "C" {
    // mimalloc's public option API (linked in by the `mimalloc` crate).
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Keep freed pages for [`PURGE_DELAY_MS`]: the delay now in force (`None` without mimalloc). A delay set in the
/// environment (`MIMALLOC_PURGE_DELAY`) is left as it is.
pub fn keep_freed_pages() -> Option<i64> {
    #[cfg(feature = "mimalloc")]
    {
        // SAFETY: mimalloc's option functions take any option number below its last and are thread-safe.
        unsafe {
            let now = mi_option_get(MI_OPTION_PURGE_DELAY);
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() && now == MI_DEFAULT_PURGE_DELAY {
                mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as std::ffi::c_long);
            }
            #[allow(clippy::useless_conversion)] // c_long is i32 on Windows
            Some(i64::from(mi_option_get(MI_OPTION_PURGE_DELAY)))
        }
    }
    #[cfg(not(feature = "mimalloc"))]
    None
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "mimalloc")]
    #[test]
    fn freed_pages_are_kept_for_the_delay_unless_the_environment_sets_one() {
        let expected = match std::env::var("MIMALLOC_PURGE_DELAY") {
            Ok(v) => v.parse::<i64>().unwrap(),
            Err(_) => super::PURGE_DELAY_MS,
        };
        assert_eq!(super::keep_freed_pages(), Some(expected));
        assert_eq!(super::keep_freed_pages(), Some(expected)); // a second call changes nothing
    }

    #[cfg(not(feature = "mimalloc"))]
    #[test]
    fn without_mimalloc_there_is_nothing_to_set() {
        assert_eq!(super::keep_freed_pages(), None);
    }
}

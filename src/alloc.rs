//! The policy's memory allocator in wasm: every block is recycled through
//! one free list per size class, and C code in the module allocates from
//! the same lists, so the module carries no general-purpose allocator.
//!
//! Reading a request makes a few hundred small allocations (map nodes,
//! strings) that all die when the answer is written; the next request
//! makes the same ones again. Taking a block off a free list and putting it
//! back costs a few instructions, where a general allocator searches and
//! coalesces. Blocks up to 1 KB come in 14 sizes; larger ones (the request
//! text, the answer, long lists) in powers of two, so a growing `Vec` or
//! `String` that doubles keeps filling one class. New blocks are cut from
//! memory taken from the host 64 KiB pages at a time. Memory is never given
//! back (wasm cannot shrink its memory): an instance keeps its peak, a
//! small multiple of the largest request it has read.
//!
//! wasi-libc's `malloc` (dlmalloc, 11 KB of code every host compiles with
//! the module) is replaced by `malloc` and its kin below, which serve
//! C code (the environment set up at start, std's own system calls) from
//! these lists too.
//!
//! A policy instance runs one request at a time on one thread (wasm32 has no
//! threads here), so the lists need no lock.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr;

/// The sizes of small blocks, in bytes; a small allocation gets the
/// smallest block that holds it. Small blocks are 8-aligned.
const SMALL: [usize; 14] = [
    8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
];
const LARGEST_SMALL: usize = 1024;
const SMALL_ALIGN: usize = 8;

/// The class of each small size in 8-byte steps (`SMALL_CLASS_OF[(size + 7) / 8]`).
const SMALL_CLASS_OF: [u8; LARGEST_SMALL / SMALL_ALIGN + 1] = {
    let mut table = [0u8; LARGEST_SMALL / SMALL_ALIGN + 1];
    let mut step = 0;
    while step <= LARGEST_SMALL / SMALL_ALIGN {
        let size = step * SMALL_ALIGN;
        let mut class = 0;
        while SMALL[class] < size {
            class += 1;
        }
        table[step] = class as u8;
        step += 1;
    }
    table
};

/// Larger blocks, and blocks aligned beyond 8 bytes, are `2^power` bytes
/// for a power from 4 (16 bytes) to 31, and 16-aligned.
const MIN_POWER: u32 = 4;
const MAX_POWER: u32 = 31;
const POWERS: usize = (MAX_POWER - MIN_POWER + 1) as usize;
const POWER_ALIGN: usize = 16;

/// A wasm memory page, the unit the host grows memory by.
const PAGE: usize = 65536;
/// The least memory taken from the host at a time, in pages.
const MIN_GROWTH: usize = 2;

/// Which free list a layout's blocks live on: the small classes first
/// (indices into [`SMALL`]), then one per power of two. `None` for an
/// alignment beyond 16 bytes (nothing in the policy asks for one) or a size
/// beyond 2 GiB.
#[inline(always)]
fn class_of(layout: Layout) -> Option<usize> {
    let (size, align) = (layout.size(), layout.align());
    if size <= LARGEST_SMALL && align <= SMALL_ALIGN {
        return Some(SMALL_CLASS_OF[size.div_ceil(SMALL_ALIGN)] as usize);
    }
    if align > POWER_ALIGN || size > 1 << MAX_POWER {
        return None;
    }
    let power = size.max(align).next_power_of_two().trailing_zeros();
    Some(SMALL.len() + (power.max(MIN_POWER) - MIN_POWER) as usize)
}

/// The size and alignment of the blocks of `class`.
fn block_layout(class: usize) -> (usize, usize) {
    match class.checked_sub(SMALL.len()) {
        None => (SMALL[class], SMALL_ALIGN),
        Some(power) => (1 << (power as u32 + MIN_POWER), POWER_ALIGN),
    }
}

struct Lists {
    /// The first free block of each class; a free block holds the address
    /// of the next one in its first bytes.
    heads: [*mut u8; SMALL.len() + POWERS],
    /// The part of the memory last taken from the host that no block has
    /// been cut from yet: `next..end`.
    next: usize,
    end: usize,
}

pub struct FreeLists {
    lists: UnsafeCell<Lists>,
}

// SAFETY: used as the global allocator of a single-threaded wasm module.
unsafe impl Sync for FreeLists {}

impl FreeLists {
    pub const fn new() -> FreeLists {
        FreeLists {
            lists: UnsafeCell::new(Lists {
                heads: [ptr::null_mut(); SMALL.len() + POWERS],
                next: 0,
                end: 0,
            }),
        }
    }
}

impl Default for FreeLists {
    fn default() -> FreeLists {
        FreeLists::new()
    }
}

impl Lists {
    /// A new block of `class`, cut from the unused memory; null when the
    /// host gives no more memory.
    #[inline(never)]
    fn cut(&mut self, class: usize) -> *mut u8 {
        let (size, align) = block_layout(class);
        if self.end == 0 {
            (self.next, self.end) = initial_memory();
        }
        let fits = |lists: &Lists| {
            let start = lists.next.next_multiple_of(align);
            start.checked_add(size).filter(|&end| end <= lists.end)
        };
        if fits(self).is_none() {
            let Some((start, end)) = more_memory(size + align) else {
                return ptr::null_mut();
            };
            // Memory that continues the unused part extends it; otherwise
            // (something else took memory in between) the rest is left.
            if start != self.end {
                self.next = start;
            }
            self.end = end;
        }
        let Some(block_end) = fits(self) else {
            return ptr::null_mut();
        };
        let start = block_end - size;
        self.next = block_end;
        start as *mut u8
    }
}

unsafe impl GlobalAlloc for FreeLists {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return ptr::null_mut();
        };
        // SAFETY: one thread, and no reference into the lists outlives this
        // call; a head is null or a free block of its class, whose first
        // bytes hold the next one.
        unsafe {
            let lists = &mut *self.lists.get();
            let block = lists.heads[class];
            if block.is_null() {
                lists.cut(class)
            } else {
                lists.heads[class] = block.cast::<*mut u8>().read();
                block
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // `block` came from `alloc` with this layout, so the class exists.
        let Some(class) = class_of(layout) else {
            return;
        };
        // SAFETY: `block` is at least 8 bytes, 8-aligned, and no longer used.
        unsafe {
            let heads = &mut (*self.lists.get()).heads;
            block.cast::<*mut u8>().write(heads[class]);
            heads[class] = block;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees a valid layout for `new_size`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class_of(layout) == class_of(new_layout) {
            // Still fits its block: nothing to move.
            return block;
        }
        // SAFETY: `block` holds `layout.size()` bytes; the new block is
        // another block, so the two do not overlap.
        unsafe {
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

/// The memory the module starts with past its data and stack, which the
/// linker marks with `__heap_base` and `__heap_end`: no other allocator is
/// linked to use it (wasi-libc's would clash with our `malloc` by name).
#[cfg(target_family = "wasm")]
fn initial_memory() -> (usize, usize) {
    unsafe extern "C" {
        static __heap_base: u8;
        static __heap_end: u8;
    }
    // Only the addresses of the linker's symbols are taken.
    (
        &raw const __heap_base as usize,
        &raw const __heap_end as usize,
    )
}

/// Native builds (the unit tests) start with no memory.
#[cfg(not(target_family = "wasm"))]
fn initial_memory() -> (usize, usize) {
    (0, 0)
}

/// Memory for at least `bytes` more bytes, from the host: `(start, end)`.
#[cfg(target_family = "wasm")]
fn more_memory(bytes: usize) -> Option<(usize, usize)> {
    let pages = bytes.div_ceil(PAGE).max(MIN_GROWTH);
    let previous = core::arch::wasm32::memory_grow(0, pages);
    if previous == usize::MAX {
        return None;
    }
    let start = previous.checked_mul(PAGE)?;
    Some((start, start.checked_add(pages * PAGE)?))
}

/// Native builds (the unit tests) take the memory from the system, in
/// regions that live as long as the process.
#[cfg(not(target_family = "wasm"))]
fn more_memory(bytes: usize) -> Option<(usize, usize)> {
    let size = bytes.div_ceil(PAGE).max(MIN_GROWTH) * PAGE;
    let layout = Layout::from_size_align(size, PAGE).ok()?;
    // SAFETY: the layout's size is not zero.
    let start = unsafe { std::alloc::alloc(layout) } as usize;
    (start != 0).then_some((start, start + size))
}

#[cfg(target_family = "wasm")]
#[global_allocator]
static ALLOCATOR: FreeLists = FreeLists::new();

/// C's allocator, over the same free lists. A block starts with a 16-byte
/// header holding the size asked for, so `free` knows the block's layout;
/// the memory returned after it is 16-aligned, as C's `max_align_t` needs.
#[cfg(target_family = "wasm")]
mod c {
    use super::ALLOCATOR;
    use std::alloc::{GlobalAlloc, Layout};
    use std::ptr;

    const HEADER: usize = 16;
    /// wasi's `EINVAL` and `ENOMEM`.
    const EINVAL: i32 = 28;
    const ENOMEM: i32 = 48;

    fn layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
    }

    /// The size asked for when `memory` was allocated.
    unsafe fn size_of(memory: *mut u8) -> usize {
        // SAFETY: `memory` came from `malloc`, HEADER bytes into its block.
        unsafe { memory.sub(HEADER).cast::<usize>().read() }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn malloc(size: usize) -> *mut u8 {
        let Some(layout) = layout(size) else {
            return ptr::null_mut();
        };
        // SAFETY: the layout is not empty; the header is inside the block.
        unsafe {
            let block = ALLOCATOR.alloc(layout);
            if block.is_null() {
                return block;
            }
            block.cast::<usize>().write(size);
            block.add(HEADER)
        }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn free(memory: *mut u8) {
        if memory.is_null() {
            return;
        }
        // SAFETY: `memory` came from `malloc`, whose header gives the layout.
        unsafe {
            let size = size_of(memory);
            if let Some(layout) = layout(size) {
                ALLOCATOR.dealloc(memory.sub(HEADER), layout);
            }
        }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return ptr::null_mut();
        };
        // SAFETY: `malloc` returns null or `total` writable bytes.
        unsafe {
            let memory = malloc(total);
            if !memory.is_null() {
                memory.write_bytes(0, total);
            }
            memory
        }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn realloc(memory: *mut u8, size: usize) -> *mut u8 {
        // SAFETY: `memory` is null or came from `malloc`; on failure the
        // old memory is left as it was, as C requires.
        unsafe {
            if memory.is_null() {
                return malloc(size);
            }
            let moved = malloc(size);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(memory, moved, size_of(memory).min(size));
                free(memory);
            }
            moved
        }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32 {
        if !align.is_power_of_two() || align > HEADER {
            return EINVAL;
        }
        // SAFETY: `out` is writable, as the caller guarantees.
        unsafe {
            let memory = malloc(size);
            if memory.is_null() {
                return ENOMEM;
            }
            out.write(memory);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_small_size_gets_the_smallest_class_that_holds_it() {
        for size in 1..=LARGEST_SMALL {
            let layout = Layout::from_size_align(size, 1).unwrap();
            let class = class_of(layout).unwrap();
            assert!(class < SMALL.len(), "size {size} is small");
            assert!(SMALL[class] >= size);
            assert!(class == 0 || SMALL[class - 1] < size, "size {size}");
        }
    }

    #[test]
    fn larger_and_more_aligned_blocks_are_powers_of_two() {
        let block =
            |size, align| class_of(Layout::from_size_align(size, align).unwrap()).map(block_layout);
        assert_eq!(block(1025, 8), Some((2048, 16)));
        assert_eq!(block(2048, 1), Some((2048, 16)));
        assert_eq!(block(2049, 1), Some((4096, 16)));
        assert_eq!(block(1, 16), Some((16, 16)));
        assert_eq!(block(100, 16), Some((128, 16)));
        assert_eq!(block(1 << MAX_POWER, 1), Some((1 << MAX_POWER, 16)));
        assert_eq!(block(16, 32), None);
        assert_eq!(block((1 << MAX_POWER) + 1, 1), None);
    }

    #[test]
    fn freed_blocks_are_handed_out_again_and_contents_survive_growth() {
        let lists = FreeLists::new();
        let layout = Layout::from_size_align(40, 8).unwrap();
        unsafe {
            let first = lists.alloc(layout);
            first.write_bytes(7, 40);
            lists.dealloc(first, layout);
            let again = lists.alloc(layout);
            assert_eq!(first, again, "the freed block is reused");
            again.write_bytes(9, 40);
            // 40 → 44 stays in the 48-byte class; 44 → 600 moves.
            let same = lists.realloc(again, layout, 44);
            assert_eq!(same, again);
            let grown = lists.realloc(same, Layout::from_size_align(44, 8).unwrap(), 600);
            assert_eq!(std::slice::from_raw_parts(grown, 40), &[9u8; 40][..]);
            // 600 → 3000 moves to the 4 KiB class; 3000 → 4000 stays in it.
            let large = lists.realloc(grown, Layout::from_size_align(600, 8).unwrap(), 3000);
            assert_eq!(std::slice::from_raw_parts(large, 40), &[9u8; 40][..]);
            let larger = lists.realloc(large, Layout::from_size_align(3000, 8).unwrap(), 4000);
            assert_eq!(larger, large);
            lists.dealloc(larger, Layout::from_size_align(4000, 8).unwrap());
        }
    }

    #[test]
    fn a_block_larger_than_what_is_left_takes_new_memory() {
        let lists = FreeLists::new();
        let layout = Layout::from_size_align(3 * PAGE, 8).unwrap();
        unsafe {
            let first = lists.alloc(layout);
            let second = lists.alloc(layout);
            assert!(!first.is_null() && !second.is_null());
            assert!(first.add(layout.size()) <= second || second.add(layout.size()) <= first);
            first.write_bytes(1, layout.size());
            second.write_bytes(2, layout.size());
            assert_eq!(first.add(layout.size() - 1).read(), 1);
        }
    }

    proptest! {
        /// Live blocks never overlap, are aligned as asked, and keep what
        /// was written in them, whatever the order of allocations, frees
        /// and resizes.
        #[test]
        fn live_blocks_are_disjoint_and_keep_their_contents(
            steps in prop::collection::vec((0usize..4, 1usize..5000, 0usize..3, any::<u8>()), 1..300)
        ) {
            let lists = FreeLists::new();
            // (block, layout, fill byte)
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            for (action, size, align_power, fill) in steps {
                let align = 4 << align_power;
                unsafe {
                    match action {
                        0 | 1 => {
                            let layout = Layout::from_size_align(size, align).unwrap();
                            let block = lists.alloc(layout);
                            prop_assert!(!block.is_null());
                            prop_assert_eq!(block as usize % align, 0);
                            block.write_bytes(fill, size);
                            live.push((block, layout, fill));
                        }
                        2 if !live.is_empty() => {
                            let (block, layout, _) = live.swap_remove(size % live.len());
                            lists.dealloc(block, layout);
                        }
                        _ if !live.is_empty() => {
                            let index = size % live.len();
                            let (block, layout, fill) = live[index];
                            let moved = lists.realloc(block, layout, size);
                            prop_assert!(!moved.is_null());
                            let kept = layout.size().min(size);
                            prop_assert!(std::slice::from_raw_parts(moved, kept).iter().all(|b| *b == fill));
                            moved.write_bytes(fill, size);
                            live[index] = (moved, Layout::from_size_align(size, layout.align()).unwrap(), fill);
                        }
                        _ => {}
                    }
                }
                let mut spans: Vec<(usize, usize)> =
                    live.iter().map(|(block, layout, _)| (*block as usize, *block as usize + layout.size())).collect();
                spans.sort_unstable();
                prop_assert!(spans.windows(2).all(|pair| pair[0].1 <= pair[1].0));
            }
            for (block, layout, fill) in live {
                unsafe {
                    prop_assert!(std::slice::from_raw_parts(block, layout.size()).iter().all(|b| *b == fill));
                    lists.dealloc(block, layout);
                }
            }
        }
    }
}

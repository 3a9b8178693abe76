//! The policy's memory allocator in wasm: small blocks are recycled through
//! one free list per size class instead of going back to the general
//! allocator.
//!
//! Reading a request makes a few hundred small allocations (map nodes,
//! strings) that all die when the answer is written; the next request
//! makes the same ones again. Taking a block off a free list and putting it
//! back costs a few instructions, where the general allocator searches and
//! coalesces. The memory of the free lists is kept for the next request
//! (the instance's peak, a few hundred KB for the largest Pods); blocks
//! over 1 KB, or aligned beyond 8 bytes, go to the general allocator.
//!
//! A policy instance runs one request at a time on one thread (wasm32 has no
//! threads here), so the free lists need no lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// The block sizes, in bytes; every small allocation gets the smallest
/// block that holds it.
const CLASSES: [usize; 14] = [
    8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
];
const LARGEST: usize = 1024;
const ALIGN: usize = 8;

/// The size class of each size in 8-byte steps (`CLASS_OF[(size + 7) / 8]`).
const CLASS_OF: [u8; LARGEST / ALIGN + 1] = {
    let mut table = [0u8; LARGEST / ALIGN + 1];
    let mut step = 0;
    while step <= LARGEST / ALIGN {
        let size = step * ALIGN;
        let mut class = 0;
        while CLASSES[class] < size {
            class += 1;
        }
        table[step] = class as u8;
        step += 1;
    }
    table
};

pub struct FreeLists {
    /// The first free block of each class; a free block holds the address
    /// of the next one in its first bytes.
    heads: UnsafeCell<[*mut u8; CLASSES.len()]>,
}

// SAFETY: used as the global allocator of a single-threaded wasm module.
unsafe impl Sync for FreeLists {}

impl FreeLists {
    pub const fn new() -> FreeLists {
        FreeLists {
            heads: UnsafeCell::new([ptr::null_mut(); CLASSES.len()]),
        }
    }

    fn class(layout: Layout) -> Option<usize> {
        (layout.size() <= LARGEST && layout.align() <= ALIGN)
            .then(|| CLASS_OF[layout.size().div_ceil(ALIGN)] as usize)
    }
}

impl Default for FreeLists {
    fn default() -> FreeLists {
        FreeLists::new()
    }
}

unsafe impl GlobalAlloc for FreeLists {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = FreeLists::class(layout) else {
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: one thread; the head is null or a block this allocator
        // handed out and got back, whose first bytes hold the next block.
        unsafe {
            let heads = &mut *self.heads.get();
            let block = heads[class];
            if block.is_null() {
                System.alloc(Layout::from_size_align_unchecked(CLASSES[class], ALIGN))
            } else {
                heads[class] = block.cast::<*mut u8>().read();
                block
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = FreeLists::class(layout) else {
            return unsafe { System.dealloc(block, layout) };
        };
        // SAFETY: `block` came from `alloc` with this layout, so it is at
        // least 8 bytes, 8-aligned, and no longer used.
        unsafe {
            let heads = &mut *self.heads.get();
            block.cast::<*mut u8>().write(heads[class]);
            heads[class] = block;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (FreeLists::class(layout), FreeLists::class(new_layout)) {
            // Still fits its block: nothing to move.
            (Some(old), Some(new)) if old == new => block,
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            _ => unsafe {
                let moved = self.alloc(new_layout);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                    self.dealloc(block, layout);
                }
                moved
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_small_size_gets_the_smallest_class_that_holds_it() {
        for size in 1..=LARGEST {
            let layout = Layout::from_size_align(size, 1).unwrap();
            let class = FreeLists::class(layout).unwrap();
            assert!(CLASSES[class] >= size);
            assert!(class == 0 || CLASSES[class - 1] < size, "size {size}");
        }
        assert!(FreeLists::class(Layout::from_size_align(LARGEST + 1, 1).unwrap()).is_none());
        assert!(FreeLists::class(Layout::from_size_align(16, 16).unwrap()).is_none());
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
            lists.dealloc(grown, Layout::from_size_align(600, 8).unwrap());
        }
    }
}

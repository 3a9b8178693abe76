//! The one sort the policy uses for every list it orders (violations,
//! splices into the request text, names in messages).
//!
//! std's sorts are generic over the item and the comparison, so each list
//! sorted with them adds its own copy of several sorting routines to the
//! module, and every copy costs time each time a host compiles the module.
//! Here the sorting itself is one plain merge sort over positions, with the
//! comparison passed as a trait object; only the small step that moves the
//! items into place is generic.

use std::cmp::Ordering;

/// Sorts `items` by `compare`, keeping items that compare equal in the order
/// they came (a stable sort), in O(n log n) comparisons.
pub fn sort_by<T>(items: &mut [T], compare: &dyn Fn(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let mut order = stable_order(items.len(), &|a, b| compare(&items[a], &items[b]));
    apply_order(items, &mut order);
}

/// The positions `0..len` in sorted order: `order[i]` is the position of
/// the item that belongs at `i`. A bottom-up merge sort: merging takes from
/// the right-hand run only when its item is strictly less, so equal items
/// keep their order.
fn stable_order(len: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut merged = vec![0; len];
    let mut width = 1;
    while width < len {
        let mut start = 0;
        while start < len {
            let middle = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut left, mut right) = (start, middle);
            for slot in &mut merged[start..end] {
                let take_right = right < end
                    && (left >= middle || compare(order[right], order[left]) == Ordering::Less);
                if take_right {
                    *slot = order[right];
                    right += 1;
                } else {
                    *slot = order[left];
                    left += 1;
                }
            }
            start = end;
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}

/// Moves every item to its place in `order` with swaps, one cycle of the
/// permutation at a time; `order` is used up as the record of what is done.
fn apply_order<T>(items: &mut [T], order: &mut [usize]) {
    const DONE: usize = usize::MAX;
    for cycle_start in 0..order.len() {
        let mut position = cycle_start;
        while order[position] != DONE {
            let source = order[position];
            order[position] = DONE;
            if source == cycle_start {
                break;
            }
            items.swap(position, source);
            position = source;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by;
    use proptest::prelude::*;

    #[test]
    fn equal_items_keep_their_order() {
        let mut pairs = vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (0, 'e'), (2, 'f')];
        sort_by(&mut pairs, &|x, y| x.0.cmp(&y.0));
        assert_eq!(
            pairs,
            [(0, 'e'), (1, 'b'), (1, 'd'), (2, 'a'), (2, 'c'), (2, 'f')]
        );
    }

    #[test]
    fn empty_and_single_lists_are_left_alone() {
        let mut empty: Vec<String> = Vec::new();
        sort_by(&mut empty, &|a, b| a.cmp(b));
        assert!(empty.is_empty());
        let mut one = vec!["only".to_owned()];
        sort_by(&mut one, &|a, b| a.cmp(b));
        assert_eq!(one, ["only"]);
    }

    proptest! {
        /// The same order as std's stable sort, on any list of owned items.
        #[test]
        fn sorts_as_std_stable_sort_does(items in prop::collection::vec((0u8..8, any::<u16>()), 0..200)) {
            let mut ours: Vec<(u8, String)> =
                items.iter().map(|(key, tag)| (*key, tag.to_string())).collect();
            let mut expected = ours.clone();
            expected.sort_by_key(|a| a.0);
            sort_by(&mut ours, &|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(ours, expected);
        }
    }
}

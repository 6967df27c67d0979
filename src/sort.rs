//! One sort instantiation for every element type: values are ordered
//! through a permutation of their indexes, sorted by a comparator behind
//! `dyn`. Each `slice::sort_by` on a new type costs its own copy of the
//! standard library's sort: 23 copies were 12 KB of the wasm's gzip.
//! `BTreeMap`'s `collect` sorts its pairs with one more copy per type (four
//! were 6 KB): `btree_map` inserts them instead.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The map of `pairs` (the last value of a repeated key wins, as `collect` does), without sorting them first.
pub fn btree_map<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut map = BTreeMap::new();
    for (key, value) in pairs {
        map.insert(key, value);
    }
    map
}

/// Sorts `items` stably by `compare`, as `slice::sort_by` does.
pub fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    let mut order = {
        let items: &[T] = items;
        sorted_indexes(items.len(), &mut |a, b| match (items.get(a), items.get(b)) {
            (Some(x), Some(y)) => compare(x, y),
            _ => Ordering::Equal,
        })
    };
    // Position `j` takes the item at `order[j]`: each cycle of the
    // permutation is walked once by swaps, a walked position marked `order[j] = j`.
    for start in 0..order.len() {
        let mut j = start;
        while let Some(&next) = order.get(j) {
            if next == j {
                break;
            }
            if let Some(slot) = order.get_mut(j) {
                *slot = j;
            }
            if next == start {
                break;
            }
            items.swap(j, next);
            j = next;
        }
    }
}

/// `0..len` in the stable order `compare` gives the indexes.
fn sorted_indexes(len: usize, compare: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| compare(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_the_last_value_of_a_key_as_collect_does() {
        let pairs = [("b", 1), ("a", 2), ("b", 3)];
        assert_eq!(btree_map(pairs), pairs.into_iter().collect::<BTreeMap<_, _>>());
    }

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        let mut seed = 7u64;
        for len in [0, 1, 2, 5, 20, 21, 100, 1000] {
            let items: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 60) as u8, i)
                })
                .collect();
            let mut ours = items.clone();
            sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut reversed = items.clone();
            sort_by(&mut reversed, |a, b| b.1.cmp(&a.1));
            assert!(reversed.iter().map(|x| x.1).eq((0..len).rev()), "{len} items reversed");
            let mut std = items;
            std.sort_by_key(|a| a.0);
            assert_eq!(ours, std, "{len} items, equal keys kept in their order");
        }
    }
}

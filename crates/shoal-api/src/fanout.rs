//! Asking many nodes at once.

/// Runs `ask` for every item on its own thread and returns the answers in the items' order;
/// `None` where `ask` panicked. It returns once every thread is done, so bound each `ask`
/// with its own deadline (the [`crate::client`] functions take one).
pub fn fan_out<I: Sync, R: Send>(items: &[I], ask: impl Fn(&I) -> R + Sync) -> Vec<Option<R>> {
    let ask = &ask;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|item| s.spawn(move || ask(item))).collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::fan_out;

    #[test]
    fn answers_come_back_in_the_order_asked() {
        assert_eq!(
            fan_out(&[3, 1, 2], |n| n * 10),
            vec![Some(30), Some(10), Some(20)]
        );
    }
}

//! Collects what foca asks for, so the core can turn it into outputs after each call.

use std::time::Duration;

use foca::{Notification, OwnedNotification, Runtime, Timer};

use crate::member::Member;

#[derive(Debug, Default)]
pub(crate) struct FocaRuntime {
    pub(crate) notifications: Vec<OwnedNotification<Member>>,
    pub(crate) sends: Vec<(Member, Vec<u8>)>,
    pub(crate) timers: Vec<(Timer<Member>, Duration)>,
}

impl Runtime<Member> for FocaRuntime {
    fn notify(&mut self, notification: Notification<'_, Member>) {
        self.notifications.push(notification.to_owned());
    }

    fn send_to(&mut self, to: Member, data: &[u8]) {
        self.sends.push((to, data.to_vec()));
    }

    fn submit_after(&mut self, event: Timer<Member>, after: Duration) {
        self.timers.push((event, after));
    }
}

//! The people read model: each user's display name, chosen presence (state and note) and
//! last announced phone state, kept in memory for presence and call views; with several
//! nodes also the phone state of each user's devices on the other nodes' links (as those
//! nodes told) and what this node last told them. Pure: it is told of changes and answers
//! questions; the hub loads it, publishes what it decides.

use std::collections::HashMap;
use std::sync::RwLock;

use ucplus_core::cti::views::PresenceView;
use ucplus_core::cti::{PhoneState, PresenceState};
use ucplus_core::{User, UserId, UserPresence};

/// A user's chosen presence.
#[derive(Debug, Clone)]
struct Chosen {
    state: PresenceState,
    note: Option<String>,
}

#[derive(Default)]
pub struct People {
    names: RwLock<HashMap<UserId, String>>,
    chosen: RwLock<HashMap<UserId, Chosen>>,
    last_phone: RwLock<HashMap<UserId, PhoneState>>,
    /// Other nodes: each user's phone state on each node's links.
    remote: RwLock<HashMap<UserId, HashMap<String, PhoneState>>>,
    /// The phone state of each user's devices on this node's links, as last told.
    told: RwLock<HashMap<UserId, PhoneState>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl People {
    /// Takes in a tenant's users and their stored presence.
    pub fn load(&self, users: Vec<User>, presence: Vec<UserPresence>) {
        let mut names = write(&self.names);
        for user in users {
            names.insert(user.id, user.display_name);
        }
        drop(names);
        let mut chosen = write(&self.chosen);
        for p in presence {
            chosen.insert(
                p.user_id,
                Chosen {
                    state: p.state,
                    note: p.note,
                },
            );
        }
    }

    pub fn updated(&self, user: &User) {
        self.renamed(user.id, user.display_name.clone());
    }

    pub fn renamed(&self, user: UserId, name: String) {
        write(&self.names).insert(user, name);
    }

    pub fn removed(&self, user: UserId) {
        write(&self.names).remove(&user);
        write(&self.chosen).remove(&user);
        write(&self.last_phone).remove(&user);
        write(&self.remote).remove(&user);
        write(&self.told).remove(&user);
    }

    /// Another node's word on a user's phone on its links (None: no device there).
    pub fn remote_phone(&self, node: &str, user: UserId, phone: Option<PhoneState>) {
        let mut remote = write(&self.remote);
        match phone {
            Some(phone) => {
                remote
                    .entry(user)
                    .or_default()
                    .insert(node.to_string(), phone);
            }
            None => {
                if let Some(nodes) = remote.get_mut(&user) {
                    nodes.remove(node);
                    if nodes.is_empty() {
                        remote.remove(&user);
                    }
                }
            }
        }
    }

    /// Everything another node says of its links' phones now, replacing what it said.
    pub fn remote_phones(&self, node: &str, phones: Vec<(UserId, PhoneState)>) {
        let mut remote = write(&self.remote);
        for nodes in remote.values_mut() {
            nodes.remove(node);
        }
        for (user, phone) in phones {
            remote
                .entry(user)
                .or_default()
                .insert(node.to_string(), phone);
        }
        remote.retain(|_, nodes| !nodes.is_empty());
    }

    /// Forgets what nodes that are gone said.
    pub fn keep_nodes(&self, live: &[String]) {
        let mut remote = write(&self.remote);
        for nodes in remote.values_mut() {
            nodes.retain(|node, _| live.contains(node));
        }
        remote.retain(|_, nodes| !nodes.is_empty());
    }

    /// The user's phone states on other nodes' links.
    pub fn phones_elsewhere(&self, user: UserId) -> Vec<PhoneState> {
        read(&self.remote)
            .get(&user)
            .map(|nodes| nodes.values().copied().collect())
            .unwrap_or_default()
    }

    /// Records the phone state of the user's devices on this node's links; true when it
    /// differs from what was last told (so the others must be told).
    pub fn tell(&self, user: UserId, phone: Option<PhoneState>) -> bool {
        let mut told = write(&self.told);
        let previous = match phone {
            Some(phone) => told.insert(user, phone),
            None => told.remove(&user),
        };
        previous != phone
    }

    pub fn name(&self, user: UserId) -> Option<String> {
        read(&self.names).get(&user).cloned()
    }

    pub fn choose(&self, user: UserId, state: PresenceState, note: Option<String>) {
        write(&self.chosen).insert(user, Chosen { state, note });
    }

    /// Records the user's phone state; true when it differs from the last one announced
    /// (a first idle phone is nothing to announce).
    pub fn phone_changed(&self, user: UserId, phone: PhoneState) -> bool {
        let previous = write(&self.last_phone).insert(user, phone);
        !(previous == Some(phone) || (previous.is_none() && phone == PhoneState::Idle))
    }

    /// The user's presence with this name and phone state (available until they choose).
    pub fn presence(&self, user: UserId, display_name: String, phone: PhoneState) -> PresenceView {
        let chosen = read(&self.chosen).get(&user).cloned().unwrap_or(Chosen {
            state: PresenceState::Available,
            note: None,
        });
        PresenceView {
            user_id: user,
            display_name,
            state: chosen.state,
            note: chosen.note,
            phone,
            on_the_phone: phone.on_the_phone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_nodes_phones_are_kept_per_node_and_forgotten_with_the_node() {
        let people = People::default();
        let (anna, ben) = (UserId::new(), UserId::new());
        people.remote_phone("a", anna, Some(PhoneState::Talking));
        people.remote_phone("b", anna, Some(PhoneState::Idle));
        people.remote_phone("b", ben, Some(PhoneState::Ringing));
        let mut anna_phones = people.phones_elsewhere(anna);
        anna_phones.sort();
        assert_eq!(anna_phones, [PhoneState::Idle, PhoneState::Talking]);
        people.remote_phone("a", anna, None);
        assert_eq!(people.phones_elsewhere(anna), [PhoneState::Idle]);
        // Node b says everything anew: ben's phone is no longer on its links.
        people.remote_phones("b", vec![(anna, PhoneState::Held)]);
        assert_eq!(people.phones_elsewhere(anna), [PhoneState::Held]);
        assert!(people.phones_elsewhere(ben).is_empty());
        people.remote_phone("c", ben, Some(PhoneState::Dialing));
        people.keep_nodes(&["c".to_string()]);
        assert!(people.phones_elsewhere(anna).is_empty(), "node b is gone");
        assert_eq!(people.phones_elsewhere(ben), [PhoneState::Dialing]);
        // What this node tells: only changes.
        assert!(people.tell(anna, Some(PhoneState::Idle)));
        assert!(!people.tell(anna, Some(PhoneState::Idle)));
        assert!(people.tell(anna, Some(PhoneState::Talking)));
        assert!(people.tell(anna, None));
        assert!(!people.tell(anna, None));
    }

    #[test]
    fn presence_follows_choices_and_phones_and_forgets_removed_users() {
        let people = People::default();
        let anna = UserId::new();
        let fresh = people.presence(anna, "Anna".into(), PhoneState::Idle);
        assert_eq!(fresh.state, PresenceState::Available);
        assert!(!fresh.on_the_phone);
        // A first idle phone is not news; ringing is; the same state again is not.
        assert!(!people.phone_changed(anna, PhoneState::Idle));
        assert!(people.phone_changed(anna, PhoneState::Ringing));
        assert!(!people.phone_changed(anna, PhoneState::Ringing));
        people.choose(anna, PresenceState::Busy, Some("in a meeting".into()));
        let busy = people.presence(anna, "Anna".into(), PhoneState::Talking);
        assert_eq!(busy.state, PresenceState::Busy);
        assert_eq!(busy.note.as_deref(), Some("in a meeting"));
        assert!(busy.on_the_phone);
        people.removed(anna);
        assert_eq!(people.name(anna), None);
        assert_eq!(
            people.presence(anna, String::new(), PhoneState::Idle).state,
            PresenceState::Available
        );
        assert!(!people.phone_changed(anna, PhoneState::Idle), "forgotten");
    }
}

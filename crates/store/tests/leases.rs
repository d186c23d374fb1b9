//! The cluster's leases on a real PostgreSQL: a node name held by one live process, each
//! PBX link by one node, taken over only after its holder's lease expired (or was
//! released), with the epoch rising at every claim.

mod support {
    pub mod scratch;
}

use std::time::Duration;

use support::scratch::ScratchDb;
use ucplus_core::PbxId;
use ucplus_store::SqlStore;
use ucplus_store::cluster::{LinkReport, NodeLease, Renewal, overview};

const TTL: Duration = Duration::from_millis(800);

async fn held(lease: &mut NodeLease) -> bool {
    matches!(lease.renew().await.unwrap(), Renewal::Held { .. })
}

#[tokio::test]
async fn a_link_has_one_holder_and_moves_only_when_its_holder_is_gone() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let store = SqlStore::connect_postgres(&db.url).await.unwrap();
    let mut a = NodeLease::new(&db.url, "a", TTL);
    let mut b = NodeLease::new(&db.url, "b", TTL);
    assert!(held(&mut a).await && held(&mut b).await);
    let mut impostor = NodeLease::new(&db.url, "a", TTL);
    assert_eq!(impostor.renew().await.unwrap(), Renewal::NameTaken);
    assert_eq!(impostor.claim(PbxId::new()).await.unwrap(), None);

    let pbx = PbxId::new();
    assert_eq!(a.claim(pbx).await.unwrap(), Some(1));
    assert_eq!(b.claim(pbx).await.unwrap(), None, "a holds it");
    assert_eq!(a.held().await.unwrap(), vec![(pbx, 1)]);
    let up = LinkReport {
        state: "up".into(),
        since: ucplus_core::Timestamp(5),
        error: None,
        session: Some("none".into()),
    };
    assert!(a.report(pbx, 1, &up).await.unwrap());
    assert!(!b.report(pbx, 1, &up).await.unwrap(), "not b's to write");

    // a stops renewing: once its lease expired, b takes the link with a higher epoch.
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert!(held(&mut b).await);
    assert_eq!(b.claim(pbx).await.unwrap(), Some(2));
    assert!(
        a.held().await.unwrap().is_empty(),
        "a learns it lost the link"
    );
    let (nodes, leases) = overview(&store).await.unwrap();
    let live: Vec<(&str, bool)> = nodes.iter().map(|n| (n.name.as_str(), n.live)).collect();
    assert_eq!(live, [("a", false), ("b", true)]);
    assert_eq!(leases[0].node.as_deref(), Some("b"));
    assert_eq!(leases[0].epoch, 2);
    assert_eq!(leases[0].link.as_ref(), Some(&up), "as last reported");

    // b takes its own link back (after fencing itself) only under a new epoch.
    assert_eq!(b.claim(pbx).await.unwrap(), Some(3));
    assert!(!b.report(pbx, 2, &up).await.unwrap(), "epoch 2 is over");
    // b stops and releases: a (renewed) takes the link at once.
    b.release().await.unwrap();
    assert!(held(&mut a).await);
    assert_eq!(a.claim(pbx).await.unwrap(), Some(4));
    let (nodes, _) = overview(&store).await.unwrap();
    assert_eq!(nodes.len(), 1, "a released node leaves the table");
    // Once a's name is free again (expired), another process may take it.
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert!(held(&mut impostor).await);
    store.close().await;
}

#[tokio::test]
async fn of_many_nodes_claiming_at_once_exactly_one_wins() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let _store = SqlStore::connect_postgres(&db.url).await.unwrap();
    for round in 0..5 {
        let pbx = PbxId::new();
        let mut nodes = Vec::new();
        for i in 0..8 {
            let mut lease = NodeLease::new(&db.url, &format!("n{round}-{i}"), TTL);
            assert!(held(&mut lease).await);
            nodes.push(lease);
        }
        let claims = nodes.iter_mut().map(|lease| lease.claim(pbx));
        let won: Vec<i64> = futures_util::future::join_all(claims)
            .await
            .into_iter()
            .filter_map(|r| r.unwrap())
            .collect();
        assert_eq!(won, vec![1], "round {round}: exactly one claim wins");
    }
}

/// A renewal says whether the lease had lapsed before it: the first one, and one after
/// the lease expired (others counted the node dead meanwhile), but not a timely one.
#[tokio::test]
async fn a_renewal_says_whether_the_lease_had_lapsed() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    // The schema is made by the store.
    SqlStore::connect_postgres(&db.url).await.unwrap();
    let mut a = NodeLease::new(&db.url, "a", TTL);
    let lapsed = |renewal: Renewal| match renewal {
        Renewal::Held { lapsed, .. } => lapsed,
        Renewal::NameTaken => panic!("the name is a's"),
    };
    assert!(lapsed(a.renew().await.unwrap()), "a first lease");
    assert!(!lapsed(a.renew().await.unwrap()), "renewed in time");
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
    assert!(lapsed(a.renew().await.unwrap()), "renewed after it expired");
    assert!(!lapsed(a.renew().await.unwrap()));
}

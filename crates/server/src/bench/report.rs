//! What `ucplus bench` prints after the traffic: the figures over every client (as with one
//! node), and with several nodes each node's share — its clients, delivered messages/s,
//! latency, server CPU and memory, whether it runs the PBX link — and what the NATS hop
//! adds: the latency at the other nodes' clients against the link's node's.

use super::clients::Window;

/// What one node's clients got in the traffic window, and what it cost the node.
pub struct NodeResult {
    pub name: String,
    pub runs_link: bool,
    pub clients: usize,
    pub window: Window,
    /// PBX send → client receive, µs, sorted.
    pub latencies: Vec<u64>,
    /// The node's resident memory before and after its clients connected, KiB.
    pub memory_kib: (u64, u64),
    pub misdelivered: u64,
    pub dropped: u64,
}

pub struct Report {
    pub pbx_events: u64,
    pub nodes: Vec<NodeResult>,
}

impl Report {
    /// The traffic window over every node: messages and server CPU summed.
    pub fn total(&self) -> Window {
        Window::sum(self.nodes.iter().map(|node| &node.window))
    }

    pub fn misdelivered(&self) -> u64 {
        self.nodes.iter().map(|node| node.misdelivered).sum()
    }

    pub fn dropped(&self) -> u64 {
        self.nodes.iter().map(|node| node.dropped).sum()
    }

    pub fn print(&self) {
        let total = self.total();
        let clients: usize = self.nodes.iter().map(|node| node.clients).sum();
        let (before, after) = self.nodes.iter().fold((0, 0), |(before, after), node| {
            (before + node.memory_kib.0, after + node.memory_kib.1)
        });
        println!(
            "{:<28} {:>12} ({:.0}/s)",
            "PBX events sent",
            self.pbx_events,
            self.pbx_events as f64 / total.seconds
        );
        println!(
            "{:<28} {:>12} ({:.0}/s)",
            "messages delivered",
            total.delivered,
            total.per_second()
        );
        print_latency(
            "latency PBX → client",
            &merged(self.nodes.iter().map(|node| &node.latencies)),
        );
        println!("{:<28} {:>12}", "misdeliveries", self.misdelivered());
        println!("{:<28} {:>12}", "clients dropped (lost)", self.dropped());
        println!(
            "{:<28} {:>9.1} KiB per client ({} KiB → {} KiB)",
            "server memory",
            after.saturating_sub(before) as f64 / clients.max(1) as f64,
            before,
            after
        );
        if self.nodes.len() == 1 {
            total.print_cpu("server CPU");
            return;
        }
        total.print_cpu("server CPU, all nodes");
        self.print_nodes();
    }

    /// Each node's share, and the latency at the link's node against the others'.
    fn print_nodes(&self) {
        println!(
            "{:<10} {:>8} {:>12} {:>9} {:>9} {:>11} {:>11} {:>13}  link",
            "node",
            "clients",
            "delivered/s",
            "p50 ms",
            "p99 ms",
            "CPU µs/msg",
            "KiB/client",
            "misdelivered"
        );
        for node in &self.nodes {
            println!(
                "{:<10} {:>8} {:>12.0} {:>9.2} {:>9.2} {:>11} {:>11.1} {:>13}  {}",
                node.name,
                node.clients,
                node.window.per_second(),
                percentile(&node.latencies, 0.5) as f64 / 1000.0,
                percentile(&node.latencies, 0.99) as f64 / 1000.0,
                node.window
                    .cpu_per_message()
                    .map_or("-".to_string(), |cpu| format!("{cpu:.2}")),
                node.memory_kib.1.saturating_sub(node.memory_kib.0) as f64
                    / node.clients.max(1) as f64,
                node.misdelivered,
                if node.runs_link {
                    "runs it"
                } else {
                    "over NATS"
                }
            );
        }
        let at_link = merged(
            self.nodes
                .iter()
                .filter(|node| node.runs_link)
                .map(|node| &node.latencies),
        );
        let elsewhere = merged(
            self.nodes
                .iter()
                .filter(|node| !node.runs_link)
                .map(|node| &node.latencies),
        );
        print_latency("latency, the link's node", &at_link);
        print_latency("latency, the other nodes", &elsewhere);
        let added =
            |p: f64| (percentile(&elsewhere, p) as f64 - percentile(&at_link, p) as f64) / 1000.0;
        println!(
            "{:<28} {:>+9.2} ms p50 {:>+9.2} ms p99",
            "added by the NATS hop",
            added(0.5),
            added(0.99)
        );
    }
}

fn print_latency(label: &str, sorted: &[u64]) {
    println!(
        "{:<28} {:>9.2} ms p50 {:>9.2} ms p99 ({} samples)",
        label,
        percentile(sorted, 0.5) as f64 / 1000.0,
        percentile(sorted, 0.99) as f64 / 1000.0,
        sorted.len()
    );
}

/// The value below which the fraction `p` of `sorted` lies (0 for none).
fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0)
}

/// The samples of every list, sorted.
fn merged<'a>(lists: impl Iterator<Item = &'a Vec<u64>>) -> Vec<u64> {
    let mut all: Vec<u64> = lists.flatten().copied().collect();
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_samples() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 0.5), 51);
        assert_eq!(percentile(&samples, 0.99), 99);
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(merged([vec![1, 5], vec![2, 3]].iter()), vec![1, 2, 3, 5]);
    }
}

//! `docs/analytics-engine.md` shows exactly the layout the mapping code writes.

use observability_collector::ingest::data_points::{Layout, LOGS, METRICS, TRACES};

fn table(layout: &Layout) -> String {
    let mut out = String::from("| column | name | max bytes | meaning |\n| --- | --- | --- | --- |\n");
    out += &format!(
        "| `index1` | `{}` | {} | {} |\n",
        layout.index.name, layout.index.max_bytes, layout.index.description
    );
    for (i, c) in layout.blobs.iter().enumerate() {
        out += &format!("| `blob{}` | `{}` | {} | {} |\n", i + 1, c.name, c.max_bytes, c.description);
    }
    for (i, c) in layout.doubles.iter().enumerate() {
        out += &format!("| `double{}` | `{}` | | {} |\n", i + 1, c.name, c.description);
    }
    out
}

#[test]
fn the_documented_layout_is_the_one_written() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/analytics-engine.md")).unwrap();
    for layout in [TRACES, LOGS, METRICS] {
        let expected = table(&layout);
        assert!(
            doc.contains(&expected),
            "docs/analytics-engine.md must contain this table for {}:\n\n{expected}",
            layout.dataset
        );
    }
}

//! Parsers of the user input the API reads itself (path segments and query values that serde
//! does not parse). Public so the fuzz target `http_params` can drive them; total on any
//! `&str`: they return an error, never panic.

use std::fmt;

use shoal_node::NodeName;

/// A pid as the API's paths write it: `<id>` or `<id>@<node>` (`{pid}` in
/// `/api/actors/{pid}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PidText<'a> {
    /// The actor's id on its node.
    pub id: u64,
    /// The node named after `@`, if any (not checked against this node: the caller does).
    pub node: Option<&'a str>,
}

/// Input the API could not read; the message names the value and the expected form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError(String);

/// Parses `<id>` or `<id>@<node>`; the id is a decimal `u64`, the node anything after the
/// first `@`.
pub fn parse_pid(text: &str) -> Result<PidText<'_>, ParamError> {
    let (id, node) = match text.split_once('@') {
        Some((id, node)) => (id, Some(node)),
        None => (text, None),
    };
    let id = id.parse().map_err(|_| {
        ParamError(format!(
            "`{text}` is not a pid; write <id> or <id>@<node>, e.g. 7@n1"
        ))
    })?;
    Ok(PidText { id, node })
}

/// Parses the `peers` query value of `/api/chaos/partition`: node names separated by commas;
/// empty entries are skipped, so `""` is no peer.
pub fn parse_peers(text: &str) -> Result<Vec<NodeName>, ParamError> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(NodeName::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ParamError(format!("{e}; write ?peers=n2,n3")))
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

#[cfg(test)]
mod tests {
    use super::{PidText, parse_peers, parse_pid};

    #[test]
    fn pids_parse_with_and_without_a_node() {
        assert_eq!(parse_pid("7"), Ok(PidText { id: 7, node: None }));
        assert_eq!(
            parse_pid("7@n1"),
            Ok(PidText {
                id: 7,
                node: Some("n1")
            })
        );
        assert_eq!(parse_pid("7@n1@x").map(|p| p.node), Ok(Some("n1@x")));
    }

    #[test]
    fn bad_pids_name_the_value_and_the_form() {
        let err = parse_pid("seven@n1").unwrap_err().to_string();
        assert!(err.contains("`seven@n1`") && err.contains("<id>@<node>"), "{err}");
        assert!(parse_pid("").is_err());
        assert!(parse_pid("18446744073709551616").is_err(), "u64 overflow");
    }

    #[test]
    fn peers_skip_empty_entries_and_reject_bad_names() {
        let names: Vec<String> = parse_peers("n2,,n3,")
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["n2", "n3"]);
        assert_eq!(parse_peers("").map(|p| p.len()), Ok(0));
        assert!(
            parse_peers("n2,bad name")
                .unwrap_err()
                .to_string()
                .contains("?peers=n2,n3")
        );
    }
}

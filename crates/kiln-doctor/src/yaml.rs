//! A YAML document as a small tree whose nodes remember their line.
//!
//! CI files are read through this module only. It owns turning parser events
//! into [`Node`]s (anchors, aliases and `<<` merge keys included); it does not
//! know what a workflow or a job is.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};

/// One YAML value and the line (1-based) it starts on.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub value: Value,
    pub line: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A parse failure with the line it happened on.
#[derive(Debug, Clone)]
pub(crate) struct YamlError {
    pub line: u32,
    pub message: String,
}

/// Parses the first document of `text`; an empty file is [`Value::Null`].
pub(crate) fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        line: to_line(e.marker().line()),
        message: e.info().to_owned(),
    })?;
    Ok(builder.done.unwrap_or(Node {
        value: Value::Null,
        line: 1,
    }))
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key/value pairs of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(m) => m,
            _ => &[],
        }
    }

    /// The items of a sequence (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(s) => s,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar, or the scalars of a sequence: `needs: build` and
    /// `needs: [build, lint]` both give names.
    pub fn strings(&self) -> Vec<&str> {
        match &self.value {
            Value::Scalar(s) => vec![s.as_str()],
            Value::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

fn to_line(line: usize) -> u32 {
    u32::try_from(line.max(1)).unwrap_or(u32::MAX)
}

enum Open {
    Seq(Node),
    Map(Node, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Open, usize)>,
    anchors: HashMap<usize, Node>,
    done: Option<Node>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.done.is_none() {
                    self.done = Some(node);
                }
            }
            Some((Open::Seq(seq), _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some((Open::Map(map, pending), _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

/// Applies `<<: *anchor` merge keys: merged entries never override keys the
/// mapping sets itself.
fn merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let (merges, mut own): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(k, _)| k.as_str() == Some("<<"));
    for (_, source) in merges {
        let sources = match source.value {
            Value::Seq(items) => items,
            other => vec![Node {
                value: other,
                line: source.line,
            }],
        };
        for src in sources {
            if let Value::Map(extra) = src.value {
                for (k, v) in extra {
                    let exists = own.iter().any(|(o, _)| o.as_str() == k.as_str());
                    if !exists {
                        own.push((k, v));
                    }
                }
            }
        }
    }
    own
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        let line = to_line(span.start.line());
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let value = if style == ScalarStyle::Plain && matches!(&*text, "~" | "null" | "") {
                    Value::Null
                } else {
                    Value::Scalar(text.into_owned())
                };
                // Block scalars (`|`, `>`) report the line their content
                // starts on, which is what script line numbers need.
                self.push_value(Node { value, line }, anchor);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    value: Value::Null,
                    line,
                });
                self.push_value(node, 0);
            }
            Event::SequenceStart(anchor, _) => {
                let node = Node {
                    value: Value::Seq(Vec::new()),
                    line,
                };
                self.stack.push((Open::Seq(node), anchor));
            }
            Event::MappingStart(anchor, _) => {
                let node = Node {
                    value: Value::Map(Vec::new()),
                    line,
                };
                self.stack.push((Open::Map(node, None), anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((open, anchor)) = self.stack.pop() {
                    let node = match open {
                        Open::Seq(n) => n,
                        Open::Map(mut n, _) => {
                            if let Value::Map(entries) = n.value {
                                n.value = Value::Map(merge_keys(entries));
                            }
                            n
                        }
                    };
                    self.push_value(node, anchor);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_block_scalars() {
        let doc = parse("jobs:\n  build:\n    steps:\n      - run: |\n          cargo build\n")
            .expect("valid yaml");
        let build = doc.get("jobs").and_then(|j| j.get("build")).expect("build");
        assert_eq!(build.line, 3);
        let run = build.get("steps").expect("steps").items()[0]
            .get("run")
            .expect("run");
        assert_eq!(run.line, 5);
        assert_eq!(run.as_str(), Some("cargo build\n"));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let doc = parse(
            ".base: &base\n  stage: test\n  image: rust\njob:\n  <<: *base\n  stage: build\n",
        )
        .expect("valid yaml");
        let job = doc.get("job").expect("job");
        assert_eq!(job.get("stage").and_then(Node::as_str), Some("build"));
        assert_eq!(job.get("image").and_then(Node::as_str), Some("rust"));
    }

    #[test]
    fn errors_carry_a_line() {
        let err = parse("jobs:\n  build:\n    steps: [\n").expect_err("invalid yaml");
        assert!(err.line >= 3, "{err:?}");
    }
}

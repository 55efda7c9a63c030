//! The manual stays true to itself and to the code.
//!
//! - Every relative link in `README.md`, `docs/*.md` and `examples/web/README.md` names a file that
//!   exists, and every `#anchor` one of the target's headings, slugged as
//!   GitHub slugs them.
//! - `docs/configuration.md` has a row for every environment variable the
//!   server reads (clap's `env = "..."`, `std::env::var`, `option_env!`, and
//!   `RUST_LOG` through tracing's `EnvFilter`), names no variable the code
//!   does not read, and gives each the flag the command line accepts.
//! - Every repository path a page names in a code span (`src/db/pool.rs`)
//!   exists.
//!
//! Files only: no server, no database. `cargo doc` with warnings denied runs
//! in `.ci/run`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md, every page of the manual, and the reference web app's README
/// (the README links into it).
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![
        root().join("README.md"),
        root().join("examples/web/README.md"),
    ];
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("a readable docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

// ------------------------------------------------------------------ markdown

/// The text outside fenced code blocks, fences replaced by blank lines (so
/// paragraphs stay apart).
fn without_fences(text: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m && trimmed.trim_end() == m => fence = None,
            (None, None) => out.push_str(line),
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// `text` with its inline code spans removed (a code span ends at the next
/// run of as many backticks, within its paragraph; an unmatched run is literal).
fn without_code_spans(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            let next = text[i..].find('`').map_or(text.len(), |n| i + n);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        let ticks = &text[i..i + run];
        let paragraph_end = text[i..].find("\n\n").map_or(text.len(), |n| i + n);
        let mut search = i + run;
        let mut close = None;
        while let Some(found) = text[search..paragraph_end].find(ticks) {
            let at = search + found;
            let len = bytes[at..].iter().take_while(|&&b| b == b'`').count();
            if len == run {
                close = Some(at);
                break;
            }
            search = at + len;
        }
        match close {
            Some(at) => i = at + run,
            None => {
                out.push_str(ticks);
                i += run;
            }
        }
    }
    out
}

/// GitHub's anchor for a heading: its text lowercased, without punctuation
/// (letters, digits, `-` and `_` stay), spaces turned into hyphens.
fn slug(heading: &str) -> String {
    // A link in a heading counts by its text.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find("](")
            .and_then(|mid| after[mid..].find(')').map(|end| (mid, mid + end)))
        {
            Some((mid, end)) => {
                text.push_str(&after[..mid]);
                rest = &after[end + 1..];
            }
            None => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings, with GitHub's `-1`, `-2` for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in without_fences(text).lines() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim_end_matches('#'));
        let count = seen.entry(base.clone()).or_insert(0);
        out.insert(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    out
}

/// The targets of a page's links and images (`[text](target)`, reference
/// definitions `[name]: target`), outside code.
fn link_targets(text: &str) -> Vec<String> {
    let text = without_code_spans(&without_fences(text));
    let mut targets = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        // Up to the closing parenthesis, allowing balanced ones inside.
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = k;
                    break;
                }
                ')' => depth -= 1,
                '\n' => {
                    end = k;
                    break;
                }
                _ => {}
            }
        }
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(
            target
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned(),
        );
        rest = &after[end..];
    }
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(close) = line.strip_prefix('[').and_then(|l| l.find("]:"))
            && let Some(target) = line[close + 3..].split_whitespace().next()
        {
            targets.push(target.to_owned());
        }
    }
    targets
}

/// What is wrong with the links of `file`, whose text is `text`.
fn broken_links(file: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for target in link_targets(text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            file.parent().expect("a file has a directory").join(path)
        };
        if !resolved.exists() {
            problems.push(format!(
                "{}: link to a missing file: {target}",
                file.display()
            ));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if resolved.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        let page = if path.is_empty() {
            text.to_owned()
        } else {
            read(&resolved)
        };
        if !anchors(&page).contains(anchor) {
            problems.push(format!(
                "{}: no heading for the anchor: {target}",
                file.display()
            ));
        }
    }
    problems
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut problems = Vec::new();
    for file in markdown_files() {
        problems.extend(broken_links(&file, &read(&file)));
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// The paths of the repository that a page names in code spans
/// (`src/db/pool.rs`, `.ci/tools/`, ...) and that exist neither from the
/// repository's root nor from `dir`, the page's directory.
fn missing_paths(text: &str, dir: &Path) -> Vec<String> {
    const ROOTS: [&str; 7] = [
        "src/",
        "tests/",
        "benches/",
        "migrations/",
        "deploy/",
        ".ci/",
        "examples/",
    ];
    // Made by `.ci/install-tools` and the test runs, git-ignored: absent on a
    // clean clone.
    // `src/gql/` is the web app's codegen output.
    const GENERATED: [&str; 6] = [
        ".ci/.venv",
        ".ci/cargo",
        "node_modules",
        "e2e/screenshots",
        "benches/results",
        "src/gql/",
    ];
    let mut missing = Vec::new();
    for span in without_fences(text).split('`').skip(1).step_by(2) {
        if !ROOTS.iter().any(|root| span.starts_with(root))
            || span.contains(char::is_whitespace)
            || span.contains(['<', '*', '{', '\u{2026}'])
            || GENERATED.iter().any(|generated| span.contains(generated))
        {
            continue;
        }
        let path = span.trim_end_matches('/');
        if !root().join(path).exists() && !dir.join(path).exists() {
            missing.push(span.to_owned());
        }
    }
    missing
}

#[test]
fn every_path_the_manual_names_exists() {
    let mut problems = Vec::new();
    for file in markdown_files() {
        let dir = file.parent().expect("a file has a directory");
        for path in missing_paths(&read(&file), dir) {
            problems.push(format!(
                "{}: names `{path}`, which does not exist",
                file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------ configuration

/// The environment variables the code reads, each with the flags clap gives it
/// (empty: read without a flag).
fn variables_in_code(sources: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut vars: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, source) in sources {
        for (var, flag) in clap_arguments(source) {
            let flags = vars.entry(var).or_default();
            flags.extend(flag);
        }
        for call in ["env::var(\"", "env::var_os(\"", "option_env!(\"", "env!(\""] {
            for (at, _) in source.match_indices(call) {
                let name: String = source[at + call.len()..]
                    .chars()
                    .take_while(|&c| c != '"')
                    .collect();
                // Cargo's own variables describe the build, not a setting.
                if !name.starts_with("CARGO_") {
                    vars.entry(name).or_default();
                }
            }
        }
        if source.contains("EnvFilter::try_from_default_env")
            || source.contains("EnvFilter::from_default_env")
        {
            vars.entry("RUST_LOG".to_owned()).or_default();
        }
    }
    vars
}

/// The `#[arg(...)]` attributes with an `env = "..."`: the variable, and the
/// flag (`long = "x"`, or a bare `long`: the field's name in kebab case).
fn clap_arguments(source: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for (start, _) in source.match_indices("#[arg(") {
        let attribute = &source[start..];
        let Some(end) = attribute_end(attribute) else {
            continue;
        };
        let body = &attribute[6..end - 2];
        let Some(var) = quoted_after(body, "env = \"") else {
            continue;
        };
        let parts = top_level_parts(body);
        let flag = if let Some(long) = quoted_after(body, "long = \"") {
            Some(long)
        } else if parts.iter().any(|part| part.trim() == "long") {
            field_after(&attribute[end..]).map(|field| field.replace('_', "-"))
        } else {
            None
        };
        out.push((var, flag.map(|f| format!("--{f}"))));
    }
    out
}

/// Where the attribute that `text` starts with ends (after its `)]`),
/// skipping string literals.
fn attribute_end(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut chars = text.char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '[' | '(' => depth += 1,
            ']' | ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The comma-separated parts of an attribute's body at nesting depth 0.
fn top_level_parts(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut in_string) = (0i32, 0, false);
    for (k, c) in body.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' | '[' | '{' if !in_string => depth += 1,
            ')' | ']' | '}' if !in_string => depth -= 1,
            ',' if depth == 0 && !in_string => {
                parts.push(&body[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// The text between `prefix` and the next `"`.
fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)? + prefix.len();
    Some(text[at..].chars().take_while(|&c| c != '"').collect())
}

/// The name of the field that follows an attribute (past other attributes
/// and doc comments).
fn field_after(text: &str) -> Option<String> {
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with("#[") || line.starts_with("//") {
            continue;
        }
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let name: String = line
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_')
            .collect();
        return (!name.is_empty() && line[name.len()..].trim_start().starts_with(':'))
            .then_some(name);
    }
    None
}

/// The rows of the reference's tables: variable, and its flag cell.
fn documented_variables(reference: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for line in without_fences(reference).lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((var, after)) = rest.split_once('`') else {
            continue;
        };
        if var.is_empty()
            || !var
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        let Some(cells) = after.trim_start().strip_prefix('|') else {
            continue;
        };
        let flag = cells.split('|').next().unwrap_or("").trim().to_owned();
        rows.push((var.to_owned(), flag));
    }
    rows
}

/// What disagrees between the code's variables and the reference's rows.
fn configuration_drift(code: &BTreeMap<String, BTreeSet<String>>, reference: &str) -> Vec<String> {
    let rows = documented_variables(reference);
    let mut problems = Vec::new();
    let documented: BTreeSet<&str> = rows.iter().map(|(var, _)| var.as_str()).collect();
    for var in code.keys() {
        if !documented.contains(var.as_str()) {
            problems.push(format!(
                "`{var}` is read by the code but has no row in docs/configuration.md"
            ));
        }
    }
    for (var, flag) in &rows {
        let Some(flags) = code.get(var) else {
            problems.push(format!(
                "`{var}` is documented but the code does not read it"
            ));
            continue;
        };
        let ok = if flags.is_empty() {
            flag.starts_with('-') && !flag.starts_with("`--")
        } else {
            flags.iter().any(|f| flag == &format!("`{f}`"))
        };
        if !ok {
            let expected = if flags.is_empty() {
                "- (no flag)".to_owned()
            } else {
                flags
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            problems.push(format!(
                "`{var}`: the flag cell says {flag:?}, the code accepts {expected}"
            ));
        }
    }
    problems
}

/// Every `.rs` file under `dir`, with its text.
fn rust_sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a readable entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push((path.display().to_string(), read(&path)));
            }
        }
    }
    out
}

#[test]
fn the_configuration_reference_names_exactly_the_variables_the_code_reads() {
    let code = variables_in_code(&rust_sources(&root().join("src")));
    // The parser must see the settings at all (a change of style would
    // otherwise make every check pass vacuously).
    assert!(
        code.len() > 50,
        "only {} variables found in src/",
        code.len()
    );
    assert!(code["DATABASE_URL"].contains("--database-url"));
    assert!(code["IMPORT_FROM_URL"].contains("--from"));
    let problems = configuration_drift(&code, &read(&root().join("docs/configuration.md")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------- the checks check something

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Against PostGraphile (`benches/compare.sh`)"),
        "against-postgraphile-benchescomparesh"
    );
    assert_eq!(
        slug("Replicas and read-your-writes"),
        "replicas-and-read-your-writes"
    );
    assert_eq!(
        slug("Automatic persisted queries (APQ)"),
        "automatic-persisted-queries-apq"
    );
    assert_eq!(
        slug("Live updates, 2026-11-23 to 2026-12-06"),
        "live-updates-2026-11-23-to-2026-12-06"
    );
    assert_eq!(
        slug("LOG_SQL_BINDS and [links](x.md)"),
        "log_sql_binds-and-links"
    );
    let repeated = anchors("# A\n## Notes\n```\n# not a heading\n```\n## Notes\n");
    assert_eq!(repeated, ["a", "notes", "notes-1"].map(String::from).into());
}

#[test]
fn a_broken_link_or_anchor_is_reported() {
    let file = root().join("README.md");
    let text = "# Here\n[ok](#here) [bad](#nowhere) [file](docs/missing.md) [web](https://example.com/x)\n\
                `[code](#ignored)`\n```\n[fenced](#ignored)\n```\n[ref]: docs/configuration.md#no-such-heading\n";
    let problems = broken_links(&file, text);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].ends_with("#nowhere"));
    assert!(problems[1].ends_with("docs/missing.md"));
    assert!(problems[2].ends_with("docs/configuration.md#no-such-heading"));
}

#[test]
fn a_missing_path_is_reported() {
    let text =
        "`src/config.rs` `src/gone.rs` `src/db/` `.ci/.venv-fuzz` `src/{a,b}.rs` `SELECT 1`\n";
    assert_eq!(missing_paths(text, &root()), ["src/gone.rs"]);
}

#[test]
fn an_undocumented_or_unknown_variable_or_a_wrong_flag_is_reported() {
    let source = r#"
        struct Config {
            /// Documented.
            #[arg(long, env = "KNOWN_SETTING", default_value_t = f(1, (2)))]
            pub known_setting: u32,
            #[arg(long = "other", env = "RENAMED")]
            renamed: String,
            #[arg(long, env = "NEW_SETTING")]
            pub new_setting: bool,
        }
        fn f() { std::env::var("FROM_CODE"); env!("CARGO_PKG_VERSION"); }
    "#;
    let code = variables_in_code(&[("config.rs".to_owned(), source.to_owned())]);
    assert_eq!(code["RENAMED"], ["--other".to_owned()].into());
    let reference = "| variable | flag | default | meaning |\n|---|---|---|---|\n\
                     | `KNOWN_SETTING` | `--known-setting` | `1` | fine |\n\
                     | `RENAMED` | `--renamed` | unset | wrong flag |\n\
                     | `FROM_CODE` | - | unset | fine |\n\
                     | `GONE_SETTING` | `--gone-setting` | unset | not in the code |\n";
    let problems = configuration_drift(&code, reference);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("`NEW_SETTING` is read by the code"));
    assert!(problems[1].contains("`RENAMED`: the flag cell"));
    assert!(problems[2].contains("`GONE_SETTING` is documented"));
}

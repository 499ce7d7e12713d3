//! Users add room types and object categories with files in folders outside the repository;
//! mistakes in those files get messages naming the file, line, column and field, and
//! impossible templates end with a clear error instead of a hang.

use std::path::Path;

use ipt_scenes::{AssetSources, Assets, BuildOptions, SceneError};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const STUDY: &str = r#"# A small study, written by a user.
display = "study"
width = [3.0, 3.5]
depth = [3.0, 3.5]
floor = ["oak_floor"]
walls = ["sage_paint"]
ceiling = ["white_plaster"]

[[groups]]
category = "desk"
count = [1, 1]
rule = "wall"

[[groups]]
name = "globes"
category = "globe"
count = [1, 2]
rule = "on"
on = ["desk"]
"#;

const GLOBE: &str = r#"# A desk globe on a stand.
plural = "globes"
palettes = { stand = ["brass"], sphere = ["pale_blue_paint"] }

[[parts]]
name = "base"
shape = "cylinder"
size = [0.14, 0.02, 0.14]
at = [0, 0.01, 0]
material = "stand"

[[parts]]
name = "stem"
shape = "cylinder"
size = [0.015, 0.1, 0.015]
at = [0, 0.07, 0]
material = "stand"

[[parts]]
name = "globe"
shape = "sphere"
size = [0.22, 0.22, 0.22]
at = [0, 0.23, 0]
material = "sphere"
"#;

#[test]
fn templates_and_categories_load_from_folders_outside_the_repo() {
    let templates = tempfile::tempdir().unwrap();
    let catalog = tempfile::tempdir().unwrap();
    write(templates.path(), "study.toml", STUDY);
    write(catalog.path(), "globe.toml", GLOBE);
    let sources = AssetSources {
        catalog_dirs: vec![catalog.path().to_path_buf()],
        template_dirs: vec![templates.path().to_path_buf()],
        ..AssetSources::default()
    };
    let assets = Assets::load(&sources).unwrap_or_else(|e| panic!("{e}"));
    assert!(assets.template_names().contains(&"study".to_string()));
    assert!(assets.template_names().contains(&"kitchen".to_string()), "built-ins stay available");
    let mut globes = 0;
    for seed in 0..10 {
        let scene = assets.build("study", seed, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scene.template, "study");
        globes += scene.objects.iter().filter(|o| o.category == "globe" && o.support.is_some()).count();
    }
    assert!(globes >= 5, "the user's globes were placed {globes} times in 10 scenes");
}

#[test]
fn a_user_file_replaces_the_built_in_of_the_same_name() {
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), "kitchen.toml", &STUDY.replace("\"study\"", "\"user kitchen\"").replace("globe", "book"));
    let sources = AssetSources { template_dirs: vec![templates.path().to_path_buf()], ..Default::default() };
    let assets = Assets::load(&sources).unwrap();
    assert_eq!(assets.template("kitchen").unwrap().display, "user kitchen");
}

fn load_error(template: &str) -> String {
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), "broken.toml", template);
    let sources = AssetSources { template_dirs: vec![templates.path().to_path_buf()], ..Default::default() };
    Assets::load(&sources).unwrap_err().to_string()
}

#[test]
fn malformed_template_names_file_line_column_and_field() {
    let text = STUDY.replace("count = [1, 2]", "count = \"two\"");
    let message = load_error(&text);
    assert!(message.contains("broken.toml:17:9: field `groups[1].count`"), "{message}");
    assert!(message.contains("expected an array"), "{message}");
}

#[test]
fn misspelt_field_is_reported_with_its_position() {
    let message = load_error(&STUDY.replace("rule = \"wall\"", "rulle = \"wall\""));
    assert!(message.contains("broken.toml:"), "{message}");
    assert!(message.contains("rulle"), "{message}");
}

#[test]
fn syntax_error_names_where_parsing_stopped() {
    // The unclosed array on line 3 is noticed at the start of line 4.
    let message = load_error(&STUDY.replace("width = [3.0, 3.5]", "width = [3.0, 3.5"));
    assert!(message.contains("broken.toml:4:1: "), "{message}");
    assert!(message.contains("expected `,`"), "{message}");
}

#[test]
fn unknown_rule_name_lists_the_position() {
    let message = load_error(&STUDY.replace("rule = \"wall\"", "rule = \"ceiling\""));
    assert!(message.contains("broken.toml:12:8: field `groups[0].rule`"), "{message}");
    assert!(message.contains("unknown variant `ceiling`"), "{message}");
}

#[test]
fn unknown_category_names_template_group_and_rule() {
    let message = load_error(&STUDY.replace("category = \"desk\"", "category = \"dsek\""));
    assert!(message.contains("broken.toml"), "{message}");
    assert!(message.contains("groups[0].category"), "{message}");
    assert!(message.contains("group `dsek` (rule wall): unknown category `dsek`"), "{message}");
}

/// A 2.5 x 2.5 m room template with one group, loaded from a user folder as `name`.
fn tiny_room(name: &str, group: &str) -> Assets {
    let text = format!(
        "width = [2.5, 2.5]\ndepth = [2.5, 2.5]\nfloor = [\"oak_floor\"]\nwalls = [\"white_paint\"]\n\
         ceiling = [\"white_plaster\"]\n\n[[groups]]\n{group}"
    );
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), &format!("{name}.toml"), &text);
    let sources = AssetSources { template_dirs: vec![templates.path().to_path_buf()], ..Default::default() };
    Assets::load(&sources).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn impossible_template_fails_with_the_rule_and_does_not_hang() {
    let assets =
        tiny_room("crowded", "name = \"too many sofas\"\ncategory = \"sofa\"\ncount = [12, 12]\nrule = \"wall\"\n");
    let start = std::time::Instant::now();
    let error = assets.build("crowded", 1, &BuildOptions::default()).unwrap_err();
    let SceneError::Infeasible { template, rule, message } = &error else { panic!("{error}") };
    assert_eq!(template, "crowded");
    assert_eq!(rule, "room 'crowded' group 'too many sofas' (rule wall)");
    assert!(message.contains("of at least 12 sofa"), "{message}");
    println!("{error} (after {:?})", start.elapsed());
}

#[test]
fn optional_objects_that_do_not_fit_are_reported_as_dropped() {
    let assets =
        tiny_room("plants", "name = \"plants\"\ncategory = \"potted_plant\"\ncount = [0, 30]\nrule = \"corner\"\n");
    let scene = (0..20)
        .map(|seed| assets.build("plants", seed, &BuildOptions::default()).unwrap())
        .find(|s| !s.report.dropped.is_empty())
        .expect("some seed asks for more plants than four corners hold");
    let dropped = &scene.report.dropped[0];
    assert_eq!(dropped.group, "plants");
    assert!(dropped.placed <= 4 && dropped.wanted > dropped.placed, "{dropped:?}");
}

#[test]
fn object_larger_than_the_room_is_caught_when_loading() {
    let message =
        load_error(&STUDY.replace("category = \"desk\"", "category = \"bed\"").replace("[3.0, 3.5]", "[1.6, 1.8]"));
    assert!(message.contains("groups[0]"), "{message}");
    assert!(message.contains("group `bed` (rule wall): a bed is"), "{message}");
}

/// Damaged copies of the built-in templates (characters replaced, lines dropped or doubled)
/// load with an error or build a scene, but never panic.
#[test]
fn damaged_templates_never_panic() {
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenes/templates");
    let replacements = ["0", "-1", "\"", "[", "]", "=", "nan", "1e9", "x", ""];
    let mut state = 0x2545f4914f6cdd1du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let (mut loaded, mut rejected) = (0, 0);
    for entry in std::fs::read_dir(&sources).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for _ in 0..40 {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            let line = next(lines.len());
            match next(3) {
                0 => {
                    lines.remove(line);
                }
                1 => lines.insert(line, lines[line].clone()),
                _ => {
                    let chars: Vec<char> = lines[line].chars().collect();
                    if !chars.is_empty() {
                        let at = next(chars.len());
                        let replacement = replacements[next(replacements.len())];
                        lines[line] = chars[..at].iter().collect::<String>()
                            + replacement
                            + &chars[at + 1..].iter().collect::<String>();
                    }
                }
            }
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "damaged.toml", &lines.join("\n"));
            let assets = match Assets::load(&AssetSources {
                template_dirs: vec![dir.path().to_path_buf()],
                ..Default::default()
            }) {
                Ok(assets) => assets,
                Err(error) => {
                    assert!(error.to_string().contains("damaged.toml"), "{error}");
                    rejected += 1;
                    continue;
                }
            };
            let options = BuildOptions { max_attempts: 3, ..BuildOptions::default() };
            let _ = assets.build("damaged", 1, &options);
            loaded += 1;
        }
    }
    println!("{loaded} damaged templates loaded, {rejected} rejected with a message");
    assert!(loaded > 0 && rejected > 0);
}

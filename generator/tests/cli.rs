//! The `ipt-gen` binary as a user runs it.

mod common;

use common::{ipt_gen, text};

#[test]
fn scene_command_writes_identical_json_in_two_processes_and_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.json", "b.json"] {
        let out = ipt_gen(
            &["scene", "--template", "kitchen", "--seed", "7", "--out", name, "--plan", "plan.png"],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(name), "{}", text(&out.stdout));
    }
    let (a, b) = (std::fs::read(dir.path().join("a.json")).unwrap(), std::fs::read(dir.path().join("b.json")).unwrap());
    assert_eq!(a, b);
    let scene: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(scene["template"], "kitchen");
    assert_eq!(scene["seed"], 7);
    let room = &scene["rooms"][0];
    let width = room["max"][0].as_f64().unwrap() - room["min"][0].as_f64().unwrap();
    let plan = image::open(dir.path().join("plan.png")).unwrap();
    // 110 px per metre plus margins: the plan is wider than the room at that scale.
    assert!(f64::from(plan.width()) > 110.0 * width, "{} px for {width} m", plan.width());
}

#[test]
fn unknown_template_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = ipt_gen(&["scene", "--template", "garage"], dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("unknown template `garage`") && err.contains("kitchen"), "{err}");
}

#[test]
fn malformed_user_template_fails_with_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("my-templates");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(templates.join("den.toml"), "width = [3.0, 4.0]\ndepth = [3, \"four\"]\n").unwrap();
    let out = ipt_gen(&["--templates", "my-templates", "scene", "--template", "den"], dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("den.toml:2:13: field `depth[1]`"), "{err}");
}

#[test]
fn templates_command_lists_templates_and_categories() {
    let dir = tempfile::tempdir().unwrap();
    let out = ipt_gen(&["templates"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for name in
        ["kitchen", "living_room", "bedroom", "bathroom", "office", "dining_room", "apartment_small", "office_chair"]
    {
        assert!(listing.contains(name), "{name} missing from:\n{listing}");
    }
}

#[test]
fn render_command_writes_colour_ids_and_depth_of_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = ipt_gen(&["scene", "--template", "bedroom", "--seed", "2", "--out", "s.json"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let args = ["render", "--scene", "s.json", "--pose", "1.0,1.5,1.0,-135,-10", "--size", "96"];
    let out = ipt_gen(&[&args[..], &["--out", "v.png", "--ids", "i.png", "--depth", "d.png"]].concat(), dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("adapter: "), "the adapter in use is logged");
    let rgb = image::open(dir.path().join("v.png")).unwrap();
    let ids = image::open(dir.path().join("i.png")).unwrap();
    let depth = image::open(dir.path().join("d.png")).unwrap();
    assert_eq!((rgb.width(), rgb.height()), (96, 96));
    assert_eq!((ids.width(), ids.height()), (96, 96));
    assert!(matches!(depth, image::DynamicImage::ImageLuma16(_)), "depth is 16-bit millimetres");
    // A second process renders the same bytes.
    let again = ipt_gen(&[&args[..], &["--out", "v2.png", "--ids", "i2.png"]].concat(), dir.path());
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(std::fs::read(dir.path().join("v.png")).unwrap(), std::fs::read(dir.path().join("v2.png")).unwrap());
    assert_eq!(std::fs::read(dir.path().join("i.png")).unwrap(), std::fs::read(dir.path().join("i2.png")).unwrap());
    let top = ipt_gen(&["render", "--scene", "s.json", "--top-down", "--size", "80", "--out", "t.png"], dir.path());
    assert!(top.status.success(), "{}", text(&top.stderr));
    assert_eq!(image::open(dir.path().join("t.png")).unwrap().width(), 80);
}

#[test]
fn render_without_a_graphics_driver_names_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = ipt_gen(&["scene", "--template", "bathroom", "--out", "s.json"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = common::ipt_gen_command(dir.path())
        .args(["render", "--scene", "s.json", "--top-down", "--out", "t.png"])
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("no graphics adapter found") && err.contains("mesa-vulkan-drivers"), "{err}");
}

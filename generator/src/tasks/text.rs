//! Text shared by the samplers: option letters and their arrangement, articles, directions
//! and numbers written for people.

use glam::Vec2;

/// Option letters, in order.
pub const LETTERS: [&str; 4] = ["A", "B", "C", "D"];

/// Options in letter order with the answer in `slot` (taken modulo the number of options)
/// and the others after it in the given order; returns the options and the answer's letter.
pub fn arrange(answer: &str, others: &[String], slot: usize) -> (Vec<String>, String) {
    let count = others.len() + 1;
    let slot = slot % count;
    let mut choices: Vec<String> = others.to_vec();
    choices.insert(slot, answer.to_string());
    (choices, LETTERS[slot].to_string())
}

/// "the sofa".
pub fn the(display: &str) -> String {
    format!("the {display}")
}

/// Chain-of-thought steps, one per line: "1. ...", "2. ...".
pub fn numbered(steps: &[String]) -> String {
    steps.iter().enumerate().map(|(i, s)| format!("{}. {s}", i + 1)).collect::<Vec<_>>().join("\n")
}

/// "a", "a and b", "a, b and c".
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The first letter in upper case.
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "1 chair", "3 chairs".
pub fn count_of(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 { format!("1 {singular}") } else { format!("{count} {plural}") }
}

/// Metres with one decimal: "2.3 m".
pub fn metres(value: f32) -> String {
    format!("{:.1} m", value)
}

/// Where a floor direction points on a top-down map (image up is world -Z): "up and to the
/// right", "left", ...
pub fn map_direction(direction: Vec2) -> &'static str {
    // Eight sectors of 45 degrees, starting at "right" (+X) and turning towards image up (-Z).
    let angle = libm::atan2f(-direction.y, direction.x).to_degrees();
    let sector = (((angle + 360.0 + 22.5) % 360.0) / 45.0) as usize;
    [
        "right",
        "up and to the right",
        "up",
        "up and to the left",
        "left",
        "down and to the left",
        "down",
        "down and to the right",
    ][sector.min(7)]
}

/// Words for a number of degrees of turn: "left" or "right".
pub fn side_word(left: bool) -> &'static str {
    if left { "left" } else { "right" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrange_puts_the_answer_in_its_slot() {
        let others = vec!["b".to_string(), "c".to_string(), "d".to_string()];
        for slot in 0..4 {
            let (choices, letter) = arrange("a", &others, slot);
            assert_eq!(choices.len(), 4);
            assert_eq!(choices[slot], "a");
            assert_eq!(letter, LETTERS[slot]);
        }
        let (choices, letter) = arrange("yes", &["no".to_string()], 3);
        assert_eq!((choices[1].as_str(), letter.as_str()), ("yes", "B"));
    }

    #[test]
    fn map_directions_follow_the_image() {
        assert_eq!(map_direction(Vec2::new(1.0, 0.0)), "right");
        assert_eq!(map_direction(Vec2::new(0.0, -1.0)), "up");
        assert_eq!(map_direction(Vec2::new(0.0, 1.0)), "down");
        assert_eq!(map_direction(Vec2::new(-1.0, -1.0)), "up and to the left");
    }

    #[test]
    fn counts_and_capitals_read_naturally() {
        assert_eq!(count_of(1, "chair", "chairs"), "1 chair");
        assert_eq!(count_of(3, "chair", "chairs"), "3 chairs");
        assert_eq!(capitalize("the sofa"), "The sofa");
        let items = ["the stove".to_string(), "the sofa".to_string(), "the bed".to_string()];
        assert_eq!(list(&items), "the stove, the sofa and the bed");
        assert_eq!(list(&items[..1]), "the stove");
    }
}

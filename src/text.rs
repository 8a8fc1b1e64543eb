//! Small text helpers shared by the stages that put feed text where it must stay on one line.

/// Control characters (CR and LF above all) removed and runs of whitespace made one space, so
/// that text from a feed cannot start a new header or line.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_strips_line_breaks_and_controls() {
        assert_eq!(super::one_line("a\r\nBcc: x\u{0}y\t z "), "a Bcc: x y z");
    }
}

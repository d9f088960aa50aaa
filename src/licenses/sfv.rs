//! Parsing of a Structured Field Dictionary (RFC 9651, sections 3.2 and 4.2.2): just what the
//! `Content-Usage` field needs, but the whole grammar, so that a value that an HTTP library
//! accepts is never rejected here and one it rejects is never half-read.

/// A bare item (RFC 9651, section 3.3). Values this module never interprets keep only enough
/// to be told apart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BareItem {
    Integer(i64),
    Decimal(f64),
    String(String),
    Token(String),
    ByteSequence(String),
    Boolean(bool),
    Date(i64),
    DisplayString(String),
}

pub(crate) type Parameters = Vec<(String, BareItem)>;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub value: BareItem,
    pub params: Parameters,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    Item(Item),
    InnerList(Vec<Item>, Parameters),
}

/// Where parsing failed and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub offset: usize,
    pub reason: &'static str,
}

/// Parses a whole field value. A key given twice keeps its first position and its last value.
pub(crate) fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>, ParseError> {
    let mut p = Parser {
        bytes: input.as_bytes(),
        pos: 0,
    };
    p.skip_sp();
    let mut dict: Vec<(String, Member)> = Vec::new();
    while !p.at_end() {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            p.item_or_inner_list()?
        } else {
            Member::Item(Item {
                value: BareItem::Boolean(true),
                params: p.parameters()?,
            })
        };
        insert(&mut dict, key, member);
        p.skip_ows();
        if p.at_end() {
            break;
        }
        if !p.eat(b',') {
            return p.fail("expected `,` between members");
        }
        p.skip_ows();
        if p.at_end() {
            return p.fail("trailing `,`");
        }
    }
    Ok(dict)
}

fn insert<V>(map: &mut Vec<(String, V)>, key: String, value: V) {
    match map.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => map.push((key, value)),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos,
            reason,
        })
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn key(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => {}
            _ => return self.fail("a key starts with a lower-case letter or `*`"),
        }
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.pos += 1;
        }
        Ok(self.text(start))
    }

    fn text(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned()
    }

    fn item_or_inner_list(&mut self) -> Result<Member, ParseError> {
        if !self.eat(b'(') {
            return Ok(Member::Item(self.item()?));
        }
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Ok(Member::InnerList(items, self.parameters()?));
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return self.fail("expected a space or `)` in an inner list");
            }
        }
    }

    fn item(&mut self) -> Result<Item, ParseError> {
        let value = self.bare_item()?;
        Ok(Item {
            value,
            params: self.parameters()?,
        })
    }

    fn parameters(&mut self) -> Result<Parameters, ParseError> {
        let mut params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            insert(&mut params, key, value);
        }
        Ok(params)
    }

    fn bare_item(&mut self) -> Result<BareItem, ParseError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string().map(BareItem::String),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => Ok(self.token()),
            Some(b':') => self.byte_sequence(),
            Some(b'?') => self.boolean(),
            Some(b'@') => {
                self.pos += 1;
                match self.number()? {
                    BareItem::Integer(i) => Ok(BareItem::Date(i)),
                    _ => self.fail("a date is an integer"),
                }
            }
            Some(b'%') => self.display_string(),
            _ => self.fail("expected a value"),
        }
    }

    fn number(&mut self) -> Result<BareItem, ParseError> {
        let start = self.pos;
        self.eat(b'-');
        let digits_start = self.pos;
        let mut point = None;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' => self.pos += 1,
                b'.' if point.is_none() => {
                    if self.pos - digits_start > 12 {
                        return self.fail("a decimal has at most 12 integer digits");
                    }
                    point = Some(self.pos);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let text = self.text(start);
        match point {
            None => {
                let digits = self.pos - digits_start;
                if digits == 0 {
                    return self.fail("expected a digit");
                }
                if digits > 15 {
                    return self.fail("an integer has at most 15 digits");
                }
                Ok(BareItem::Integer(text.parse().expect("checked digits")))
            }
            Some(p) => {
                let fraction = self.pos - p - 1;
                if p == digits_start || !(1..=3).contains(&fraction) {
                    return self.fail("a decimal has 1 to 3 fractional digits");
                }
                Ok(BareItem::Decimal(text.parse().expect("checked digits")))
            }
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.fail("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(c as char),
                        _ => return self.fail("only `\\\"` and `\\\\` are escapes"),
                    }
                    self.pos += 1;
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(c as char);
                    self.pos += 1;
                }
                Some(_) => return self.fail("a string holds only visible ASCII and space"),
            }
        }
    }

    fn token(&mut self) -> BareItem {
        let start = self.pos;
        self.pos += 1;
        while let Some(b) = self.peek() {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b);
            if !tchar {
                break;
            }
            self.pos += 1;
        }
        BareItem::Token(self.text(start))
    }

    fn byte_sequence(&mut self) -> Result<BareItem, ParseError> {
        self.pos += 1;
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b':' {
                let text = self.text(start);
                self.pos += 1;
                return Ok(BareItem::ByteSequence(text));
            }
            if !(b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
                return self.fail("a byte sequence holds only base64");
            }
            self.pos += 1;
        }
        self.fail("unterminated byte sequence")
    }

    fn boolean(&mut self) -> Result<BareItem, ParseError> {
        self.pos += 1;
        let value = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return self.fail("a boolean is ?1 or ?0"),
        };
        self.pos += 1;
        Ok(BareItem::Boolean(value))
    }

    fn display_string(&mut self) -> Result<BareItem, ParseError> {
        self.pos += 1;
        if !self.eat(b'"') {
            return self.fail("a display string starts with %\"");
        }
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None => return self.fail("unterminated display string"),
                Some(b'"') => {
                    self.pos += 1;
                    return match String::from_utf8(bytes) {
                        Ok(s) => Ok(BareItem::DisplayString(s)),
                        Err(_) => self.fail("a display string decodes to UTF-8"),
                    };
                }
                Some(b'%') => {
                    let hex = self.bytes.get(self.pos + 1..self.pos + 3);
                    let byte = hex
                        .filter(|h| h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
                        .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                    match byte {
                        Some(b) => bytes.push(b),
                        None => return self.fail("expected two lower-case hex digits"),
                    }
                    self.pos += 3;
                }
                Some(c @ 0x20..=0x7e) => {
                    bytes.push(c);
                    self.pos += 1;
                }
                Some(_) => return self.fail("a display string holds only visible ASCII"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> Member {
        Member::Item(Item {
            value: BareItem::Token(t.into()),
            params: vec![],
        })
    }

    #[test]
    fn parses_members_parameters_and_inner_lists() {
        let dict = parse_dictionary(
            "a=y,  b;p=\"x\\\"y\";q, c=(1 2.5 \"s\");r=?0, d=:AQ==:, e=@42, f=%\"caf%c3%a9\"",
        )
        .unwrap();
        assert_eq!(dict[0], ("a".into(), token("y")));
        assert_eq!(
            dict[1].1,
            Member::Item(Item {
                value: BareItem::Boolean(true),
                params: vec![
                    ("p".into(), BareItem::String("x\"y".into())),
                    ("q".into(), BareItem::Boolean(true)),
                ],
            })
        );
        let Member::InnerList(items, params) = &dict[2].1 else {
            panic!("inner list expected")
        };
        assert_eq!(items[1].value, BareItem::Decimal(2.5));
        assert_eq!(params[0], ("r".into(), BareItem::Boolean(false)));
        assert_eq!(
            dict[3].1,
            Member::Item(Item {
                value: BareItem::ByteSequence("AQ==".into()),
                params: vec![]
            })
        );
        assert!(matches!(
            &dict[4].1,
            Member::Item(Item {
                value: BareItem::Date(42),
                ..
            })
        ));
        assert!(
            matches!(&dict[5].1, Member::Item(Item { value: BareItem::DisplayString(s), .. }) if s == "café")
        );
    }

    #[test]
    fn last_value_wins_at_first_position() {
        let dict = parse_dictionary("a=y, b=n, a=n").unwrap();
        assert_eq!(
            dict,
            vec![("a".into(), token("n")), ("b".into(), token("n"))]
        );
    }

    #[test]
    fn empty_and_space_only_values_are_empty_dictionaries() {
        assert_eq!(parse_dictionary("").unwrap(), vec![]);
        assert_eq!(parse_dictionary("   ").unwrap(), vec![]);
    }

    #[test]
    fn malformed_values_are_rejected_with_an_offset() {
        for (input, offset) in [
            ("Train-ai=n", 0),
            ("a=y,", 4),
            ("a=y b=n", 4),
            ("a=\"open", 7),
            ("a=1234567890123456", 18),
            ("a=1.2345", 8),
            ("a=(1,2)", 4),
            ("a=?2", 3),
            ("a=y;", 4),
            (" a=y", 0),
        ] {
            match parse_dictionary(input) {
                Err(e) if input == " a=y" => panic!("{input:?} should parse: {e:?}"),
                Err(e) => assert_eq!(e.offset, offset, "{input:?}: {}", e.reason),
                Ok(_) if input == " a=y" => {}
                Ok(d) => panic!("{input:?} parsed as {d:?}"),
            }
        }
    }
}

//! The TraCI wire format, as pure functions over byte slices (no I/O), so every rule is unit
//! tested on hand-built bytes.
//!
//! - A **message** is a 4-byte big-endian length (counting those 4 bytes) followed by commands.
//! - A **command** is `length, id, content`: a one-byte length (counting itself and the id) when
//!   the whole command fits in 255 bytes, otherwise the *extended* form: a zero byte, then a
//!   4-byte length (counting the zero byte, itself and the id).
//! - Every request is answered by a **status** command per request command: `id` (echoing the
//!   request), a result byte (0x00 ok, 0x01 not implemented, 0xff error) and a description
//!   string; getters and subscriptions follow with their result command.
//! - Values carry a one-byte **type tag**: ubyte 0x07, int 0x09, double 0x0b, string 0x0c
//!   (4-byte length + bytes), stringList 0x0e (4-byte count + strings), compound 0x0f (4-byte
//!   count + type-tagged items). All numbers are big-endian.

use std::fmt;

/// Result byte of a status response: success.
pub const RTYPE_OK: u8 = 0x00;
/// Result byte of a status response: the command is not implemented.
pub const RTYPE_NOTIMPLEMENTED: u8 = 0x01;
/// Result byte of a status response: failure.
pub const RTYPE_ERR: u8 = 0xff;

pub const TYPE_UBYTE: u8 = 0x07;
pub const TYPE_INTEGER: u8 = 0x09;
pub const TYPE_DOUBLE: u8 = 0x0b;
pub const TYPE_STRING: u8 = 0x0c;
pub const TYPE_STRINGLIST: u8 = 0x0e;
pub const TYPE_COMPOUND: u8 = 0x0f;

/// Largest message accepted from SUMO, bytes. A reply is a few kB per step on city networks;
/// a length beyond this means the stream is out of step (or not TraCI at all), and allocating
/// it would only hide that.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// Deepest compound nesting decoded: SUMO's values nest two levels at most; the cap keeps a
/// malicious reply from recursing the stack away.
const MAX_COMPOUND_DEPTH: usize = 8;

/// A reply that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(pub String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, CodecError> {
    Err(CodecError(msg.into()))
}

/// A type-tagged TraCI value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    UByte(u8),
    Int(i32),
    Double(f64),
    String(String),
    StringList(Vec<String>),
    Compound(Vec<Value>),
}

impl Value {
    /// The value as a number (ubyte, int and double), for counters SUMO types either way.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::UByte(v) => Some(f64::from(*v)),
            Value::Int(v) => Some(f64::from(*v)),
            Value::Double(v) => Some(*v),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- encoding

pub fn put_u8(buf: &mut Vec<u8>, v: u8) {
    buf.push(v);
}

pub fn put_i32(buf: &mut Vec<u8>, v: i32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

pub fn put_f64(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// A string without type tag: 4-byte length, then the UTF-8 bytes.
pub fn put_string(buf: &mut Vec<u8>, s: &str) {
    put_i32(buf, s.len() as i32);
    buf.extend_from_slice(s.as_bytes());
}

/// A value with its type tag.
pub fn put_value(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::UByte(x) => {
            buf.push(TYPE_UBYTE);
            buf.push(*x);
        }
        Value::Int(x) => {
            buf.push(TYPE_INTEGER);
            put_i32(buf, *x);
        }
        Value::Double(x) => {
            buf.push(TYPE_DOUBLE);
            put_f64(buf, *x);
        }
        Value::String(s) => {
            buf.push(TYPE_STRING);
            put_string(buf, s);
        }
        Value::StringList(l) => {
            buf.push(TYPE_STRINGLIST);
            put_i32(buf, l.len() as i32);
            for s in l {
                put_string(buf, s);
            }
        }
        Value::Compound(items) => {
            buf.push(TYPE_COMPOUND);
            put_i32(buf, items.len() as i32);
            for i in items {
                put_value(buf, i);
            }
        }
    }
}

/// One command: short length form when it fits in a byte, extended form otherwise.
pub fn command(id: u8, content: &[u8]) -> Vec<u8> {
    let short = 2 + content.len();
    let mut out = Vec::with_capacity(short + 5);
    if short <= 255 {
        out.push(short as u8);
    } else {
        out.push(0);
        put_i32(&mut out, (6 + content.len()) as i32);
    }
    out.push(id);
    out.extend_from_slice(content);
    out
}

/// A message: the 4-byte total length (counting itself), then the commands back to back.
pub fn message(commands: &[Vec<u8>]) -> Vec<u8> {
    let body: usize = commands.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(4 + body);
    put_i32(&mut out, (4 + body) as i32);
    for c in commands {
        out.extend_from_slice(c);
    }
    out
}

/// Content of a variable subscription (`0xd0`… commands): begin and end time, s; object id;
/// the variables.
pub fn subscription(begin_s: f64, end_s: f64, object: &str, vars: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    put_f64(&mut c, begin_s);
    put_f64(&mut c, end_s);
    put_string(&mut c, object);
    put_u8(&mut c, vars.len() as u8);
    c.extend_from_slice(vars);
    c
}

/// Content of a getter or setter: variable, object id, then (setters) the typed value.
pub fn variable(var: u8, object: &str, value: Option<&Value>) -> Vec<u8> {
    let mut c = vec![var];
    put_string(&mut c, object);
    if let Some(v) = value {
        put_value(&mut c, v);
    }
    c
}

// ---------------------------------------------------------------- decoding

/// The length of a whole message from its 4-byte prefix: the bytes still to read after it.
pub fn message_body_len(prefix: [u8; 4]) -> Result<usize, CodecError> {
    let total = i32::from_be_bytes(prefix);
    if total < 4 {
        return err(format!(
            "message length {total} is shorter than its own prefix"
        ));
    }
    let total = total as usize;
    if total > MAX_MESSAGE_BYTES {
        return err(format!(
            "message length {total} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit"
        ));
    }
    Ok(total - 4)
}

/// A cursor over reply bytes; every read checks the bytes are there.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CodecError> {
        if self.remaining() < n {
            return err(format!(
                "truncated {what}: needs {n} bytes at offset {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1, "ubyte")?[0])
    }

    pub fn i32(&mut self) -> Result<i32, CodecError> {
        let b = self.take(4, "int")?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn f64(&mut self) -> Result<f64, CodecError> {
        let b = self.take(8, "double")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }

    fn count(&mut self, what: &str) -> Result<usize, CodecError> {
        let n = self.i32()?;
        if n < 0 {
            return err(format!("negative {what} length {n}"));
        }
        Ok(n as usize)
    }

    pub fn string(&mut self) -> Result<String, CodecError> {
        let n = self.count("string")?;
        let b = self.take(n, "string")?;
        String::from_utf8(b.to_vec()).map_err(|_| CodecError("string is not UTF-8".into()))
    }

    /// A type-tagged value.
    pub fn value(&mut self) -> Result<Value, CodecError> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Value, CodecError> {
        let tag = self.u8()?;
        Ok(match tag {
            TYPE_UBYTE => Value::UByte(self.u8()?),
            TYPE_INTEGER => Value::Int(self.i32()?),
            TYPE_DOUBLE => Value::Double(self.f64()?),
            TYPE_STRING => Value::String(self.string()?),
            TYPE_STRINGLIST => {
                let n = self.count("stringList")?;
                // each string takes at least its 4-byte length: refuse counts the bytes cannot hold
                if n > self.remaining() / 4 {
                    return err(format!(
                        "stringList of {n} items in {} bytes",
                        self.remaining()
                    ));
                }
                let mut l = Vec::with_capacity(n);
                for _ in 0..n {
                    l.push(self.string()?);
                }
                Value::StringList(l)
            }
            TYPE_COMPOUND => {
                if depth >= MAX_COMPOUND_DEPTH {
                    return err("compound nested too deep");
                }
                let n = self.count("compound")?;
                if n > self.remaining() / 2 {
                    return err(format!(
                        "compound of {n} items in {} bytes",
                        self.remaining()
                    ));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value_at(depth + 1)?);
                }
                Value::Compound(items)
            }
            t => return err(format!("unknown value type 0x{t:02x}")),
        })
    }

    /// One framed command (short or extended length form): its id and content.
    pub fn command(&mut self) -> Result<(u8, &'a [u8]), CodecError> {
        let short = self.u8()?;
        let (len, header) = if short == 0 {
            let n = self.i32()?;
            if n < 6 {
                return err(format!(
                    "extended command length {n} is below its 6-byte header"
                ));
            }
            (n as usize, 5)
        } else {
            if short < 2 {
                return err(format!("command length {short} is below its 2-byte header"));
            }
            (short as usize, 1)
        };
        let id = self.u8()?;
        let content = self.take(len - header - 1, "command content")?;
        Ok((id, content))
    }
}

/// A status response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The command it answers.
    pub command: u8,
    pub result: u8,
    pub description: String,
}

/// Read the status response to `expected` from a reply and check it reports success.
pub fn read_status(r: &mut Reader<'_>, expected: u8) -> Result<Status, crate::Error> {
    let (id, content) = r.command()?;
    let mut c = Reader::new(content);
    let result = c.u8()?;
    let description = c.string()?;
    if id != expected {
        return Err(CodecError(format!(
            "status answers command 0x{id:02x}, expected 0x{expected:02x}"
        ))
        .into());
    }
    let status = Status {
        command: id,
        result,
        description,
    };
    match result {
        RTYPE_OK => Ok(status),
        RTYPE_NOTIMPLEMENTED | RTYPE_ERR => Err(crate::Error::Refused {
            command: id,
            message: if status.description.is_empty() {
                format!("result 0x{result:02x}")
            } else {
                status.description
            },
        }),
        other => Err(CodecError(format!("unknown status result 0x{other:02x}")).into()),
    }
}

/// One variable subscription result: the response id (request id + 0x10), the object and each
/// variable's value, or SUMO's error text for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionResult {
    pub response: u8,
    pub object: String,
    pub values: Vec<(u8, Result<Value, String>)>,
}

/// Parse a variable subscription result command's content.
pub fn subscription_result(response: u8, content: &[u8]) -> Result<SubscriptionResult, CodecError> {
    let mut r = Reader::new(content);
    let object = r.string()?;
    let n = r.u8()?;
    let mut values = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let var = r.u8()?;
        let status = r.u8()?;
        let v = r.value()?;
        values.push((
            var,
            if status == RTYPE_OK {
                Ok(v)
            } else {
                Err(match v {
                    Value::String(s) => s,
                    other => format!("{other:?}"),
                })
            },
        ));
    }
    if !r.is_empty() {
        return err(format!(
            "{} stray bytes after subscription result for '{object}'",
            r.remaining()
        ));
    }
    Ok(SubscriptionResult {
        response,
        object,
        values,
    })
}

/// The body of a `simulationStep` reply after its status: a 4-byte count, then that many
/// subscription results, each a framed command.
pub fn step_results(r: &mut Reader<'_>) -> Result<Vec<SubscriptionResult>, CodecError> {
    let n = r.count("subscription results")?;
    if n > r.remaining() / 2 {
        return err(format!(
            "{n} subscription results in {} bytes",
            r.remaining()
        ));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (id, content) = r.command()?;
        out.push(subscription_result(id, content)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_prefix_counts_itself() {
        let m = message(&[command(0x00, &[])]);
        assert_eq!(m, vec![0, 0, 0, 6, 2, 0x00]);
        assert_eq!(message_body_len([0, 0, 0, 6]).unwrap(), 2);
        assert!(message_body_len([0, 0, 0, 3]).is_err());
        assert!(message_body_len([0x7f, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn simulation_step_command_bytes() {
        let mut c = Vec::new();
        put_f64(&mut c, 0.0);
        assert_eq!(command(0x02, &c), vec![10, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn short_and_extended_framing_round_trip() {
        let short = command(0x7f, &[1, 2, 3]);
        assert_eq!(short, vec![5, 0x7f, 1, 2, 3]);
        // 254 content bytes: 256 with the header, one over the short form
        let long = command(0xc2, &[9u8; 254]);
        assert_eq!(&long[..6], &[0, 0, 0, 1, 4, 0xc2]);
        assert_eq!(long.len(), 260);
        // the largest short command: 253 content bytes
        assert_eq!(command(0xc2, &[9u8; 253])[0], 255);
        let mut both = short.clone();
        both.extend_from_slice(&long);
        let mut r = Reader::new(&both);
        assert_eq!(r.command().unwrap(), (0x7f, &[1u8, 2, 3][..]));
        let (id, content) = r.command().unwrap();
        assert_eq!((id, content.len()), (0xc2, 254));
        assert!(r.is_empty());
    }

    #[test]
    fn bad_command_lengths_are_errors() {
        assert!(Reader::new(&[1, 0x02]).command().is_err());
        assert!(Reader::new(&[0, 0, 0, 0, 5, 0x02]).command().is_err());
        // claims 10 bytes, has 4
        assert!(Reader::new(&[10, 0x02, 0, 0]).command().is_err());
    }

    #[test]
    fn typed_values_round_trip_and_match_hand_bytes() {
        let mut b = Vec::new();
        put_value(&mut b, &Value::UByte(7));
        put_value(&mut b, &Value::Int(-2));
        put_value(&mut b, &Value::Double(1.5));
        put_value(&mut b, &Value::String("ab".into()));
        put_value(&mut b, &Value::StringList(vec!["x".into(), "".into()]));
        put_value(
            &mut b,
            &Value::Compound(vec![Value::Int(1), Value::String("y".into())]),
        );
        #[rustfmt::skip]
        let hand: Vec<u8> = vec![
            0x07, 7,
            0x09, 0xff, 0xff, 0xff, 0xfe,
            0x0b, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
            0x0c, 0, 0, 0, 2, b'a', b'b',
            0x0e, 0, 0, 0, 2, 0, 0, 0, 1, b'x', 0, 0, 0, 0,
            0x0f, 0, 0, 0, 2, 0x09, 0, 0, 0, 1, 0x0c, 0, 0, 0, 1, b'y',
        ];
        assert_eq!(b, hand);
        let mut r = Reader::new(&hand);
        assert_eq!(r.value().unwrap(), Value::UByte(7));
        assert_eq!(r.value().unwrap(), Value::Int(-2));
        assert_eq!(r.value().unwrap(), Value::Double(1.5));
        assert_eq!(r.value().unwrap(), Value::String("ab".into()));
        assert_eq!(
            r.value().unwrap(),
            Value::StringList(vec!["x".into(), "".into()])
        );
        assert_eq!(
            r.value().unwrap(),
            Value::Compound(vec![Value::Int(1), Value::String("y".into())])
        );
        assert!(r.is_empty());
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        assert!(Reader::new(&[0x42, 0]).value().is_err());
        assert!(Reader::new(&[0x0c, 0, 0, 0, 9, b'a']).value().is_err());
        assert!(Reader::new(&[0x0c, 0xff, 0xff, 0xff, 0xff])
            .value()
            .is_err());
        assert!(Reader::new(&[0x0e, 0x7f, 0, 0, 0]).value().is_err());
        assert!(Reader::new(&[0x0c, 0, 0, 0, 1, 0xff]).value().is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x0f, 0, 0, 0, 1], 20)
            .flatten()
            .collect();
        assert!(Reader::new(&deep).value().is_err());
    }

    #[test]
    fn status_ok_error_and_mismatch() {
        let ok = command(0x02, &[0x00, 0, 0, 0, 0]);
        let s = read_status(&mut Reader::new(&ok), 0x02).unwrap();
        assert_eq!(s.result, RTYPE_OK);
        let bad = command(0xc2, &[0xff, 0, 0, 0, 3, b'b', b'a', b'd']);
        match read_status(&mut Reader::new(&bad), 0xc2) {
            Err(crate::Error::Refused { command, message }) => {
                assert_eq!((command, message.as_str()), (0xc2, "bad"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(read_status(&mut Reader::new(&ok), 0x00).is_err());
        let odd = command(0x02, &[0x05, 0, 0, 0, 0]);
        assert!(read_status(&mut Reader::new(&odd), 0x02).is_err());
    }

    #[test]
    fn subscribe_request_bytes() {
        let c = subscription(0.0, 1.0, "d", &[0x10, 0x14]);
        #[rustfmt::skip]
        let hand = vec![
            0, 0, 0, 0, 0, 0, 0, 0,
            0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 1, b'd',
            2, 0x10, 0x14,
        ];
        assert_eq!(c, hand);
    }

    #[test]
    fn step_reply_with_two_subscription_results() {
        // object "L", 2 vars: 0x10 ok int 3; 0x14 error "no"
        #[rustfmt::skip]
        let lane = vec![
            0, 0, 0, 1, b'L', 2,
            0x10, 0x00, 0x09, 0, 0, 0, 3,
            0x14, 0xff, 0x0c, 0, 0, 0, 2, b'n', b'o',
        ];
        // simulation object "", 1 var: time 2.0
        #[rustfmt::skip]
        let simv = vec![0, 0, 0, 0, 1, 0x66, 0x00, 0x0b, 0x40, 0, 0, 0, 0, 0, 0, 0];
        let mut body = command(0x02, &[0x00, 0, 0, 0, 0]);
        put_i32(&mut body, 2);
        body.extend(command(0xe3, &lane));
        body.extend(command(0xeb, &simv));
        let mut r = Reader::new(&body);
        read_status(&mut r, 0x02).unwrap();
        let res = step_results(&mut r).unwrap();
        assert_eq!(res.len(), 2);
        assert_eq!(res[0].response, 0xe3);
        assert_eq!(res[0].object, "L");
        assert_eq!(res[0].values[0], (0x10, Ok(Value::Int(3))));
        assert_eq!(res[0].values[1], (0x14, Err("no".to_string())));
        assert_eq!(res[1].values[0], (0x66, Ok(Value::Double(2.0))));
        assert!(r.is_empty());
        // a count the bytes cannot hold
        let mut lie = Vec::new();
        put_i32(&mut lie, 1000);
        assert!(step_results(&mut Reader::new(&lie)).is_err());
    }

    #[test]
    fn setter_content_bytes() {
        let c = variable(0x20, "A1", Some(&Value::String("Gr".into())));
        assert_eq!(
            c,
            vec![0x20, 0, 0, 0, 2, b'A', b'1', 0x0c, 0, 0, 0, 2, b'G', b'r']
        );
    }
}

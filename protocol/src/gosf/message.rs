//! The message envelope (spec §3): [`Message`], its JSON form, the request rules for an
//! event's arguments (§12), and the typed body/meta conversions (`StructToMap` /
//! `MapToStruct`, §13).

use super::error::{ConvertError, JsonKind, RequestError};
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON object: the type of [`Message::meta`] and [`Message::body`].
pub type Object = Map<String, Value>;

/// GOSF's message envelope, sent in both directions.
///
/// On the wire (spec §3) the fields appear in this order, and are omitted when they hold their
/// zero value — except `success`, which is always present:
///
/// | field | JSON name | omitted when |
/// |---|---|---|
/// | [`id`](Message::id) | `id` | 0 |
/// | [`guid`](Message::guid) | `guid` | empty |
/// | [`uuid`](Message::uuid) | `uuid` | empty |
/// | [`success`](Message::success) | `success` | never |
/// | [`text`](Message::text) | `text` | empty |
/// | [`meta`](Message::meta) | `meta` | `None` or empty |
/// | [`body`](Message::body) | `body` | `None` or empty |
///
/// ```
/// use glue_protocol::gosf::Message;
/// use serde_json::json;
///
/// let m = Message::ok().id(5).guid("g").text("hello")
///     .with_meta(&json!({"secret": 1}))?
///     .with_body(&json!({"a": 1}))?;
/// assert_eq!(m.to_json(),
///     r#"{"id":5,"guid":"g","success":true,"text":"hello","meta":{"secret":1},"body":{"a":1}}"#);
///
/// // Decoding matches field names case-insensitively and ignores unknown fields.
/// let d: Message = serde_json::from_str(r#"{"ID":3,"Text":"hi","extra":[1]}"#)?;
/// assert_eq!((d.id, d.text.as_str(), d.success), (3, "hi", false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Decoding follows Go's `encoding/json` as GOSF used it: names match case-insensitively
/// (including the Unicode folds `ſ`→`s` and `K` (Kelvin)→`k`), unknown fields are ignored, a
/// `null` field value leaves the field unchanged (and clears `meta`/`body`), a repeated
/// `meta`/`body` object is merged into the earlier one, and a wrong type (`"id":"x"`, a
/// fractional or out-of-range `id`, a non-object `body`) fails the whole message.
///
/// One deliberate difference: numbers inside `meta` and `body` are kept exactly as sent (Go
/// turned them into `float64`, so integers above 2^53 lost precision and `1.0` came back as
/// `1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Client-chosen correlation number, echoed in the response. Go's `int`, hence `i64`.
    pub id: i64,
    /// Client-chosen correlation string, echoed in the response.
    pub guid: String,
    /// Client-chosen correlation string, echoed in the response.
    pub uuid: String,
    /// Whether the request succeeded. Clients may set it too; [`Default`] is `false`.
    pub success: bool,
    /// Human-readable text.
    pub text: String,
    /// Server-side metadata. Not sent to clients unless configured (spec §12; GOSF leaked
    /// it, §11.7).
    pub meta: Option<Object>,
    /// The payload.
    pub body: Option<Object>,
}

impl Message {
    /// GOSF's `NewSuccessMessage(text, body)`: `success: true` with an optional text and
    /// body.
    pub fn success(text: Option<&str>, body: Option<Object>) -> Message {
        Message {
            success: true,
            text: text.unwrap_or_default().to_owned(),
            body,
            ..Message::default()
        }
    }

    /// GOSF's `NewFailureMessage(text, body)`: `success: false` with an optional text and
    /// body.
    pub fn failure(text: Option<&str>, body: Option<Object>) -> Message {
        Message { success: false, ..Message::success(text, body) }
    }

    /// An empty success message, to build on: `Message::ok().text("done")`.
    pub fn ok() -> Message {
        Message { success: true, ..Message::default() }
    }

    /// An empty failure message, to build on: `Message::fail().text("no such user")`.
    pub fn fail() -> Message {
        Message::default()
    }

    /// Sets [`id`](Message::id).
    #[must_use]
    pub fn id(mut self, id: i64) -> Message {
        self.id = id;
        self
    }

    /// Sets [`guid`](Message::guid).
    #[must_use]
    pub fn guid(mut self, guid: impl Into<String>) -> Message {
        self.guid = guid.into();
        self
    }

    /// Sets [`uuid`](Message::uuid).
    #[must_use]
    pub fn uuid(mut self, uuid: impl Into<String>) -> Message {
        self.uuid = uuid.into();
        self
    }

    /// Sets [`text`](Message::text).
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Message {
        self.text = text.into();
        self
    }

    /// Sets [`body`](Message::body) to a map.
    #[must_use]
    pub fn body(mut self, body: Object) -> Message {
        self.body = Some(body);
        self
    }

    /// Sets [`meta`](Message::meta) to a map.
    #[must_use]
    pub fn meta(mut self, meta: Object) -> Message {
        self.meta = Some(meta);
        self
    }

    /// Sets [`body`](Message::body) to `value`'s JSON object (by its serde names: GOSF's
    /// `StructToMap`). A value serialising to `null` clears the body; anything else that is
    /// not an object is refused. A [`serde_json::Value`] works too:
    /// `.with_body(&json!({"a": 1}))`.
    pub fn with_body<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Message, ConvertError> {
        self.body = to_object(value)?;
        Ok(self)
    }

    /// Sets [`meta`](Message::meta) like [`with_body`](Message::with_body) sets the body.
    pub fn with_meta<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Message, ConvertError> {
        self.meta = to_object(value)?;
        Ok(self)
    }

    /// The body as a `T` (by serde names: GOSF's `MapToStruct`, fixed to match JSON names
    /// so that it round-trips with [`with_body`](Message::with_body), §11.18). A missing
    /// body reads as `{}`.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, ConvertError> {
        map_to_struct(self.body.as_ref().unwrap_or(&Map::new()))
    }

    /// The meta as a `T`, like [`body_as`](Message::body_as).
    pub fn meta_as<T: DeserializeOwned>(&self) -> Result<T, ConvertError> {
        map_to_struct(self.meta.as_ref().unwrap_or(&Map::new()))
    }

    /// The message without [`meta`](Message::meta) (GOSF's `WithoutMeta`).
    #[must_use]
    pub fn without_meta(mut self) -> Message {
        self.meta = None;
        self
    }

    /// The same message with empty `meta`/`body` maps replaced by `None`: equal to what
    /// decoding its JSON gives back.
    #[must_use]
    pub fn normalized(mut self) -> Message {
        if self.meta.as_ref().is_some_and(Map::is_empty) {
            self.meta = None;
        }
        if self.body.as_ref().is_some_and(Map::is_empty) {
            self.body = None;
        }
        self
    }

    /// The wire JSON as a value (an object whose keys are in wire order).
    pub fn to_value(&self) -> Value {
        let mut o = Map::new();
        if self.id != 0 {
            o.insert("id".into(), self.id.into());
        }
        if !self.guid.is_empty() {
            o.insert("guid".into(), self.guid.clone().into());
        }
        if !self.uuid.is_empty() {
            o.insert("uuid".into(), self.uuid.clone().into());
        }
        o.insert("success".into(), self.success.into());
        if !self.text.is_empty() {
            o.insert("text".into(), self.text.clone().into());
        }
        if let Some(m) = self.meta.as_ref().filter(|m| !m.is_empty()) {
            o.insert("meta".into(), Value::Object(m.clone()));
        }
        if let Some(b) = self.body.as_ref().filter(|b| !b.is_empty()) {
            o.insert("body".into(), Value::Object(b.clone()));
        }
        Value::Object(o)
    }

    /// The wire JSON text, e.g.
    /// `{"id":5,"guid":"g","success":true,"text":"hello","meta":{"secret":1},"body":{"a":1}}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Message always serialises")
    }

    /// Reads a request from a Socket.IO event's arguments (the event name excluded), spec
    /// §12: exactly one argument, a JSON object, decoded like [`Deserialize`]. Everything
    /// else is a [`RequestError`], to be answered with [`RequestError::to_response`]
    /// rather than dropped (GOSF dropped these events silently, and crashed on `null`).
    ///
    /// ```
    /// use glue_protocol::gosf::{JsonKind, Message, RequestError};
    /// use serde_json::json;
    ///
    /// assert_eq!(Message::from_args(&[json!({"id": 1})])?.id, 1);
    /// assert_eq!(Message::from_args(&[]), Err(RequestError::MissingArgument));
    /// assert_eq!(Message::from_args(&[json!(null)]), Err(RequestError::NullMessage));
    /// assert_eq!(Message::from_args(&[json!("s")]), Err(RequestError::NotAnObject(JsonKind::String)));
    /// assert_eq!(Message::from_args(&[json!({}), json!({})]), Err(RequestError::ExtraArguments(2)));
    /// # Ok::<(), RequestError>(())
    /// ```
    pub fn from_args(args: &[Value]) -> Result<Message, RequestError> {
        match args {
            [] => Err(RequestError::MissingArgument),
            [Value::Null] => Err(RequestError::NullMessage),
            [v @ Value::Object(_)] => {
                Message::deserialize(v).map_err(|e| RequestError::InvalidField(e.to_string()))
            }
            [v] => Err(RequestError::NotAnObject(JsonKind::of(v))),
            _ => Err(RequestError::ExtraArguments(args.len())),
        }
    }
}

impl From<Message> for Value {
    fn from(m: Message) -> Value {
        m.to_value()
    }
}

impl From<&Message> for Value {
    fn from(m: &Message) -> Value {
        m.to_value()
    }
}

/// `value` as a JSON object by its serde names (GOSF's `StructToMap`; `#[serde(skip_serializing_if)]`
/// plays the part of `omitempty`). Refuses values that do not serialise to an object.
pub fn struct_to_map<T: Serialize + ?Sized>(value: &T) -> Result<Object, ConvertError> {
    match serde_json::to_value(value).map_err(|e| ConvertError::Serde(e.to_string()))? {
        Value::Object(o) => Ok(o),
        v => Err(ConvertError::NotAnObject(JsonKind::of(&v))),
    }
}

/// A `T` from a JSON object by serde names (GOSF's `MapToStruct`, which matched Go field
/// names instead and so did not round-trip with `StructToMap`, §11.18).
pub fn map_to_struct<T: DeserializeOwned>(map: &Object) -> Result<T, ConvertError> {
    // `Value::Object` by reference would need the map owned; a clone keeps this simple.
    T::deserialize(Value::Object(map.clone())).map_err(|e| ConvertError::Serde(e.to_string()))
}

fn to_object<T: Serialize + ?Sized>(value: &T) -> Result<Option<Object>, ConvertError> {
    match serde_json::to_value(value).map_err(|e| ConvertError::Serde(e.to_string()))? {
        Value::Object(o) => Ok(Some(o)),
        Value::Null => Ok(None),
        v => Err(ConvertError::NotAnObject(JsonKind::of(&v))),
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let meta = self.meta.as_ref().filter(|m| !m.is_empty());
        let body = self.body.as_ref().filter(|b| !b.is_empty());
        let len = 1
            + usize::from(self.id != 0)
            + usize::from(!self.guid.is_empty())
            + usize::from(!self.uuid.is_empty())
            + usize::from(!self.text.is_empty())
            + usize::from(meta.is_some())
            + usize::from(body.is_some());
        let mut m = s.serialize_map(Some(len))?;
        if self.id != 0 {
            m.serialize_entry("id", &self.id)?;
        }
        if !self.guid.is_empty() {
            m.serialize_entry("guid", &self.guid)?;
        }
        if !self.uuid.is_empty() {
            m.serialize_entry("uuid", &self.uuid)?;
        }
        m.serialize_entry("success", &self.success)?;
        if !self.text.is_empty() {
            m.serialize_entry("text", &self.text)?;
        }
        if let Some(meta) = meta {
            m.serialize_entry("meta", meta)?;
        }
        if let Some(body) = body {
            m.serialize_entry("body", body)?;
        }
        m.end()
    }
}

/// The wire names, lower case, in wire order.
pub(crate) const FIELD_NAMES: [&str; 7] = ["id", "guid", "uuid", "success", "text", "meta", "body"];

/// Whether `key` equals the lower-case ASCII `name` under Go's `encoding/json` name folding:
/// ASCII case-insensitively, plus `ſ` (U+017F) for `s` and `K` (U+212A) for `k`.
pub(crate) fn key_matches(key: &str, name: &str) -> bool {
    let mut chars = key.chars();
    for want in name.chars() {
        let got = match chars.next() {
            Some('\u{017F}') => 's',
            Some('\u{212A}') => 'k',
            Some(c) => c.to_ascii_lowercase(),
            None => return false,
        };
        if got != want {
            return false;
        }
    }
    chars.next().is_none()
}

#[derive(Clone, Copy)]
enum Field {
    Id,
    Guid,
    Uuid,
    Success,
    Text,
    Meta,
    Body,
    Other,
}

impl Field {
    fn of(key: &str) -> Field {
        const FIELDS: [Field; 7] = [
            Field::Id,
            Field::Guid,
            Field::Uuid,
            Field::Success,
            Field::Text,
            Field::Meta,
            Field::Body,
        ];
        FIELD_NAMES
            .iter()
            .zip(FIELDS)
            .find(|(name, _)| key_matches(key, name))
            .map_or(Field::Other, |(_, f)| f)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(Field::of(v))
            }
        }
        d.deserialize_identifier(V)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Message, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Message;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
                fn merge(slot: &mut Option<Object>, new: Option<Object>) {
                    match (slot.as_mut(), new) {
                        (_, None) => *slot = None,
                        (Some(old), Some(new)) => old.extend(new),
                        (None, Some(new)) => *slot = Some(new),
                    }
                }
                let mut m = Message::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Id => {
                            if let Some(v) = map.next_value::<Option<i64>>()? {
                                m.id = v;
                            }
                        }
                        Field::Guid => {
                            if let Some(v) = map.next_value::<Option<String>>()? {
                                m.guid = v;
                            }
                        }
                        Field::Uuid => {
                            if let Some(v) = map.next_value::<Option<String>>()? {
                                m.uuid = v;
                            }
                        }
                        Field::Success => {
                            if let Some(v) = map.next_value::<Option<bool>>()? {
                                m.success = v;
                            }
                        }
                        Field::Text => {
                            if let Some(v) = map.next_value::<Option<String>>()? {
                                m.text = v;
                            }
                        }
                        Field::Meta => merge(&mut m.meta, map.next_value()?),
                        Field::Body => merge(&mut m.body, map.next_value()?),
                        Field::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

//! The columns of a record, declared once: both the Arrow schema and the Hugging Face
//! `datasets` features are derived from [`COLUMNS`].

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema};
use serde_json::{Value, json};

/// Version of the record layout, stored in the schema metadata (`ipt_schema_version`) and in
/// each dataset's manifest. Bumped whenever a column changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Schema metadata key holding [`SCHEMA_VERSION`].
pub const VERSION_KEY: &str = "ipt_schema_version";

/// The type of a column, or of a field inside one.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// 32-bit float.
    F32,
    /// An image: `struct<bytes: binary, path: string>`, every part nullable (the layout
    /// `datasets` decodes to PIL images).
    Image,
    /// A list of text.
    TextList,
    /// A list of images.
    ImageList,
    /// A fixed-length list of 32-bit floats.
    Floats(i32),
    /// A list of structs with these fields.
    StructList(&'static [Column]),
}

/// A named column (or struct field): its type and whether it may be null.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
    /// May be null.
    pub nullable: bool,
}

const fn column(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, nullable: false }
}

const fn optional(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, nullable: true }
}

/// Fields of a camera (see [`crate::Camera`]).
const CAMERA: &[Column] = &[
    column("role", Kind::Text),
    column("projection", Kind::Text),
    column("width", Kind::U32),
    column("height", Kind::U32),
    optional("hfov_degrees", Kind::F32),
    column("fx", Kind::F32),
    column("fy", Kind::F32),
    column("cx", Kind::F32),
    column("cy", Kind::F32),
    column("world_from_camera", Kind::Floats(16)),
];

/// Fields of an object (see [`crate::ObjectInfo`]).
const OBJECT: &[Column] = &[
    column("id", Kind::U32),
    column("category", Kind::Text),
    column("name", Kind::Text),
    column("position", Kind::Floats(3)),
    column("box_min", Kind::Floats(3)),
    column("box_max", Kind::Floats(3)),
];

/// Every column of a record, in order (see [`crate::Record`] and docs/schema.md).
pub const COLUMNS: &[Column] = &[
    column("id", Kind::Text),
    column("task", Kind::Text),
    column("variant", Kind::Text),
    column("subtype", Kind::Text),
    column("split", Kind::Text),
    column("question", Kind::Text),
    column("choices", Kind::TextList),
    column("answer", Kind::Text),
    column("answer_text", Kind::Text),
    column("images", Kind::ImageList),
    optional("imagination", Kind::Image),
    column("cot", Kind::Text),
    column("think", Kind::Text),
    column("scene_id", Kind::Text),
    column("template", Kind::Text),
    column("seed", Kind::U64),
    column("index", Kind::U64),
    column("cameras", Kind::StructList(CAMERA)),
    column("objects", Kind::StructList(OBJECT)),
    column("meta", Kind::Text),
    optional("images_ids", Kind::ImageList),
    optional("imagination_ids", Kind::Image),
    optional("images_depth", Kind::ImageList),
    optional("imagination_depth", Kind::Image),
];

/// Name of the item field of list columns.
const ITEM: &str = "item";

fn image_fields() -> Fields {
    Fields::from(vec![Field::new("bytes", DataType::Binary, true), Field::new("path", DataType::Utf8, true)])
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text => DataType::Utf8,
        Kind::U32 => DataType::UInt32,
        Kind::U64 => DataType::UInt64,
        Kind::F32 => DataType::Float32,
        Kind::Image => DataType::Struct(image_fields()),
        Kind::TextList => DataType::List(Arc::new(Field::new(ITEM, DataType::Utf8, false))),
        Kind::ImageList => DataType::List(Arc::new(Field::new(ITEM, data_type(Kind::Image), true))),
        Kind::Floats(n) => DataType::FixedSizeList(Arc::new(Field::new(ITEM, DataType::Float32, false)), n),
        Kind::StructList(fields) => {
            let fields: Vec<Field> = fields.iter().map(field).collect();
            DataType::List(Arc::new(Field::new(ITEM, DataType::Struct(Fields::from(fields)), false)))
        }
    }
}

fn field(column: &Column) -> Field {
    // Image columns (and lists of them) are nullable: `datasets` ignores the Image feature
    // otherwise and returns plain dicts.
    let nullable = column.nullable || matches!(column.kind, Kind::Image | Kind::ImageList);
    Field::new(column.name, data_type(column.kind), nullable)
}

fn value(dtype: &str) -> Value {
    json!({ "dtype": dtype, "_type": "Value" })
}

/// The `datasets` feature of a column type.
fn feature(kind: Kind) -> Value {
    match kind {
        Kind::Text => value("string"),
        Kind::U32 => value("uint32"),
        Kind::U64 => value("uint64"),
        Kind::F32 => value("float32"),
        Kind::Image => json!({ "_type": "Image" }),
        Kind::TextList => json!({ "feature": value("string"), "_type": "List" }),
        Kind::ImageList => json!({ "feature": { "_type": "Image" }, "_type": "List" }),
        Kind::Floats(n) => json!({ "feature": value("float32"), "length": n, "_type": "List" }),
        Kind::StructList(fields) => json!({ "feature": features(fields), "_type": "List" }),
    }
}

fn features(columns: &[Column]) -> Value {
    Value::Object(columns.iter().map(|c| (c.name.to_string(), feature(c.kind))).collect())
}

/// The `datasets` features of a record (the value of the `huggingface` schema metadata's
/// `info.features`, and of the dataset card's `dataset_info.features` in list form).
pub fn hf_features() -> Value {
    features(COLUMNS)
}

/// The Arrow schema of a record, with `huggingface` and [`VERSION_KEY`] metadata.
pub fn schema() -> Schema {
    let fields: Vec<Field> = COLUMNS.iter().map(field).collect();
    let metadata = HashMap::from([
        ("huggingface".to_string(), json!({ "info": { "features": hf_features() } }).to_string()),
        (VERSION_KEY.to_string(), SCHEMA_VERSION.to_string()),
    ]);
    Schema::new(fields).with_metadata(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_columns_follow_the_hugging_face_layout() {
        let schema = schema();
        let imagination = schema.field_with_name("imagination").unwrap();
        assert!(imagination.is_nullable());
        assert!(schema.field_with_name("images").unwrap().is_nullable());
        let DataType::Struct(fields) = imagination.data_type() else { panic!("not a struct") };
        assert_eq!(fields[0].name(), "bytes");
        assert_eq!(fields[0].data_type(), &DataType::Binary);
        assert!(fields.iter().all(|f| f.is_nullable()));
        let meta: Value = serde_json::from_str(&schema.metadata()["huggingface"]).unwrap();
        assert_eq!(meta["info"]["features"]["imagination"]["_type"], "Image");
        assert_eq!(meta["info"]["features"]["images"]["feature"]["_type"], "Image");
        assert_eq!(meta["info"]["features"]["cameras"]["feature"]["world_from_camera"]["length"], 16);
    }

    #[test]
    fn every_column_has_a_feature() {
        let features = hf_features();
        for column in COLUMNS {
            assert!(features.get(column.name).is_some(), "{}", column.name);
        }
        assert_eq!(features.as_object().unwrap().len(), COLUMNS.len());
    }
}

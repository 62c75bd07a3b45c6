//! Broken and unusual TFLite files: each failure says who is at fault (the file, this
//! reader, libtorch) and which operator, and none is a panic. The models are built by
//! hand with a small FlatBuffer writer, one defect each.

use dancenow_nn::tch::{Device, Kind, Tensor};
use dancenow_nn::tflite::{TfliteError, TfliteModel};

/// A FlatBuffer value, as far as TFLite's schema needs them.
enum Node {
    /// A table: field id -> value; absent fields keep their defaults.
    Table(Vec<(usize, Node)>),
    /// A scalar field, stored in four bytes (little-endian, so a one-byte field reads
    /// its low byte).
    Scalar(i32),
    Ints(Vec<i32>),
    Bytes(Vec<u8>),
    Tables(Vec<Node>),
}

use Node::{Bytes, Ints, Scalar, Table, Tables};

/// Lays `root` out front to back: each object before the ones it points to, since
/// FlatBuffer offsets point forward; each reference is patched once its target is placed.
fn flatbuffer(root: Node, identifier: &[u8; 4]) -> Vec<u8> {
    let mut out = vec![0u8; 8];
    out[4..8].copy_from_slice(identifier);
    let at = write(&mut out, &root);
    out[0..4].copy_from_slice(&(at as u32).to_le_bytes());
    out
}

fn align(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Points the offset slot at `slot` to `target`.
fn patch(out: &mut [u8], slot: usize, target: usize) {
    out[slot..slot + 4].copy_from_slice(&((target - slot) as u32).to_le_bytes());
}

/// Writes `node` and returns where references to it point.
fn write(out: &mut Vec<u8>, node: &Node) -> usize {
    align(out);
    match node {
        Scalar(_) => unreachable!("scalars live inside tables"),
        Ints(values) => {
            let at = out.len();
            out.extend((values.len() as u32).to_le_bytes());
            values.iter().for_each(|v| out.extend(v.to_le_bytes()));
            at
        }
        Bytes(values) => {
            let at = out.len();
            out.extend((values.len() as u32).to_le_bytes());
            out.extend(values);
            at
        }
        Tables(items) => {
            let at = out.len();
            out.extend((items.len() as u32).to_le_bytes());
            let slots: Vec<usize> = items
                .iter()
                .map(|_| {
                    out.extend([0; 4]);
                    out.len() - 4
                })
                .collect();
            for (slot, item) in slots.into_iter().zip(items) {
                let target = write(out, item);
                patch(out, slot, target);
            }
            at
        }
        Table(fields) => {
            // The vtable: its size, the table's size, then each field's offset.
            let slots = fields.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
            let vtable = out.len();
            out.extend(((4 + 2 * slots) as u16).to_le_bytes());
            out.extend(((4 + 4 * fields.len()) as u16).to_le_bytes());
            let mut offsets = vec![0u16; slots];
            for (n, (id, _)) in fields.iter().enumerate() {
                offsets[*id] = (4 + 4 * n) as u16;
            }
            offsets.iter().for_each(|o| out.extend(o.to_le_bytes()));
            align(out);
            let table = out.len();
            out.extend(((table - vtable) as i32).to_le_bytes());
            let mut references = Vec::new();
            for (_, value) in fields {
                let slot = out.len();
                match value {
                    Scalar(v) => out.extend(v.to_le_bytes()),
                    other => {
                        out.extend([0; 4]);
                        references.push((slot, other));
                    }
                }
            }
            for (slot, value) in references {
                let target = write(out, value);
                patch(out, slot, target);
            }
            table
        }
    }
}

/// TFLite's codes for the operators and tensor types used below.
const ADD: i32 = 0;
const CONCATENATION: i32 = 2;
const DEPTH_TO_SPACE: i32 = 5;
const RELU: i32 = 19;
const TANH: i32 = 28;
const FLOAT32: i32 = 0;

/// A tensor of `shape`; with `buffer`, its constant data is that buffer's.
fn tensor(name: &str, shape: &[i32], buffer: Option<i32>) -> Node {
    let mut fields = vec![
        (0, Ints(shape.to_vec())),
        (1, Scalar(FLOAT32)),
        (3, Bytes(name.as_bytes().to_vec())),
    ];
    if let Some(b) = buffer {
        fields.push((2, Scalar(b)));
    }
    Table(fields)
}

/// An operator of opcode `code` (each model below has one opcode per operator code).
fn operator(code_index: i32, inputs: &[i32], outputs: &[i32], options: Option<Node>) -> Node {
    let mut fields = vec![
        (0, Scalar(code_index)),
        (1, Ints(inputs.to_vec())),
        (2, Ints(outputs.to_vec())),
    ];
    if let Some(options) = options {
        fields.push((4, options));
    }
    Table(fields)
}

/// A model with one subgraph. Buffer 0 is TFLite's empty sentinel; `buffers` follow it.
fn model(
    codes: &[i32],
    tensors: Vec<Node>,
    operators: Vec<Node>,
    inputs: &[i32],
    outputs: &[i32],
    buffers: Vec<Vec<u8>>,
) -> Vec<u8> {
    let codes = codes
        .iter()
        .map(|&c| Table(vec![(0, Scalar(c.min(127))), (3, Scalar(c))]))
        .collect();
    let buffers = std::iter::once(Table(vec![]))
        .chain(buffers.into_iter().map(|b| Table(vec![(0, Bytes(b))])))
        .collect();
    let graph = Table(vec![
        (0, Tables(tensors)),
        (1, Ints(inputs.to_vec())),
        (2, Ints(outputs.to_vec())),
        (3, Tables(operators)),
    ]);
    flatbuffer(
        Table(vec![
            (0, Scalar(3)),
            (1, Tables(codes)),
            (2, Tables(vec![graph])),
            (4, Tables(buffers)),
        ]),
        b"TFL3",
    )
}

fn load(bytes: &[u8]) -> Result<TfliteModel, TfliteError> {
    TfliteModel::from_bytes(bytes, "test", Device::Cpu)
}

/// The operator an error names, and what went wrong in it.
fn in_operator(err: TfliteError) -> (usize, &'static str, TfliteError) {
    match err {
        TfliteError::Operator {
            index, op, source, ..
        } => (index, op, *source),
        other => panic!("not an operator's error: {other}"),
    }
}

/// A model of one operator on two float inputs of `shapes`.
fn two_inputs(code: i32, shapes: [&[i32]; 2], out: &[i32], options: Option<Node>) -> Vec<u8> {
    model(
        &[code],
        vec![
            tensor("a", shapes[0], None),
            tensor("b", shapes[1], None),
            tensor("y", out, None),
        ],
        vec![operator(0, &[0, 1], &[2], options)],
        &[0, 1],
        &[2],
        vec![],
    )
}

#[test]
fn the_writer_builds_a_model_that_runs() {
    let bytes = two_inputs(ADD, [&[1, 2], &[1, 2]], &[1, 2], None);
    let model = load(&bytes).unwrap();
    let a = Tensor::from_slice(&[1.0f32, 2.0]).view([1, 2]);
    let b = Tensor::from_slice(&[10.0f32, 20.0]).view([1, 2]);
    let y = model.forward(&[a, b]).unwrap();
    assert_eq!(
        Vec::<f32>::try_from(y[0].flatten(0, -1)).unwrap(),
        [11.0, 22.0]
    );
}

/// Shapes that do not broadcast are found by libtorch at run time: its error, in the
/// operator that failed (a panic in tch's `+` before).
#[test]
fn a_libtorch_failure_is_the_engines_error_in_its_operator() {
    let bytes = two_inputs(ADD, [&[1, 2], &[1, 3]], &[1, 3], None);
    let model = load(&bytes).unwrap();
    let inputs = [
        Tensor::zeros([1, 2], (Kind::Float, Device::Cpu)),
        Tensor::zeros([1, 3], (Kind::Float, Device::Cpu)),
    ];
    let err = model.forward(&inputs).unwrap_err();
    let message = format!("{:#}", anyhow::Error::from(err));
    assert!(
        message.contains("test operator 0 (ADD): libtorch failed"),
        "{message}"
    );
    let err = model.forward(&inputs).unwrap_err();
    let (index, op, cause) = in_operator(err);
    assert_eq!((index, op), (0, "ADD"));
    assert!(matches!(cause, TfliteError::Torch(_)), "{cause}");
}

/// An operator without the operands it needs is the file's fault, found when the
/// model is read (before: an index panic, or an error only when it ran).
#[test]
fn an_operator_without_its_operands_is_a_malformed_file() {
    let no_output = model(
        &[RELU],
        vec![tensor("x", &[1, 2], None)],
        vec![operator(0, &[0], &[], None)],
        &[0],
        &[0],
        vec![],
    );
    let one_input = model(
        &[ADD],
        vec![tensor("a", &[1, 2], None), tensor("y", &[1, 2], None)],
        vec![operator(0, &[0], &[1], None)],
        &[0],
        &[1],
        vec![],
    );
    for (bytes, what) in [
        (no_output, "without an output"),
        (one_input, "without its input 1"),
    ] {
        let (index, _, cause) = in_operator(load(&bytes).err().unwrap());
        assert_eq!(index, 0);
        assert!(
            matches!(&cause, TfliteError::Malformed(m) if m.contains(what)),
            "{cause}"
        );
    }
}

/// Values read from the file that index past what they describe: an axis the tensor
/// does not have, a block size of zero (before: an index panic, a division by zero).
#[test]
fn out_of_range_axes_and_sizes_are_malformed_files() {
    let axis = |a: i32| Table(vec![(0, Scalar(a))]);
    let concat = two_inputs(CONCATENATION, [&[1, 2], &[1, 2]], &[1, 4], Some(axis(7)));
    let model = load(&concat).unwrap();
    let x = || Tensor::zeros([1, 2], (Kind::Float, Device::Cpu));
    let (index, op, cause) = in_operator(model.forward(&[x(), x()]).unwrap_err());
    assert_eq!((index, op), (0, "CONCATENATION"));
    assert!(
        matches!(&cause, TfliteError::Malformed(m) if m.contains("axis 7 of a rank-2")),
        "{cause}"
    );

    let depth_to_space = model_of_one(DEPTH_TO_SPACE, &[1, 1, 1, 4], Some(axis(0)));
    let (_, op, cause) = in_operator(load(&depth_to_space).err().unwrap());
    assert_eq!(op, "DEPTH_TO_SPACE");
    assert!(
        matches!(&cause, TfliteError::Malformed(m) if m.contains("block size")),
        "{cause}"
    );
}

/// A model of one operator on one input of `shape`.
fn model_of_one(code: i32, shape: &[i32], options: Option<Node>) -> Vec<u8> {
    model(
        &[code],
        vec![tensor("x", shape, None), tensor("y", shape, None)],
        vec![operator(0, &[0], &[1], options)],
        &[0],
        &[1],
        vec![],
    )
}

/// A valid model with an operator this reader does not run is its limitation, named
/// with the operator, not a malformed file.
#[test]
fn an_unsupported_operator_is_the_readers_limitation() {
    let (index, op, cause) = in_operator(load(&model_of_one(TANH, &[1, 2], None)).err().unwrap());
    assert_eq!((index, op), (0, "TANH"));
    assert!(matches!(cause, TfliteError::Unsupported(_)), "{cause}");
}

/// A constant whose shape overflows, and FlatBuffer offsets past the end of the file,
/// are malformed files (before: an overflow panic in the size check).
#[test]
fn bad_sizes_and_offsets_are_malformed_files() {
    let huge = i32::MAX;
    let bytes = model(
        &[RELU],
        vec![
            tensor("w", &[huge, huge, huge], Some(1)),
            tensor("y", &[1], None),
        ],
        vec![operator(0, &[0], &[1], None)],
        &[],
        &[1],
        vec![vec![0; 4]],
    );
    let err = load(&bytes).err().unwrap();
    assert!(
        matches!(&err, TfliteError::Malformed(m) if m.contains("holds 4 bytes")),
        "{err}"
    );

    let good = two_inputs(ADD, [&[1, 2], &[1, 2]], &[1, 2], None);
    let err = load(&good[..good.len() - 9]).err().unwrap();
    assert!(matches!(err.cause(), TfliteError::Malformed(_)), "{err}");
    let err = load(&good[..6]).err().unwrap();
    assert!(matches!(err, TfliteError::Malformed(_)), "{err}");
}

/// A missing model file prints the OS's reason once in the chain the CLI prints, after
/// the path and what was being done.
#[test]
fn a_missing_file_prints_its_reason_once() {
    let path = std::path::Path::new("/nonexistent/model.tflite");
    let err = TfliteModel::load(path, Device::Cpu).err().unwrap();
    let chain = format!("{:#}", anyhow::Error::from(err));
    let reason = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
    assert_eq!(chain.matches("os error 2").count(), 1, "{chain}");
    assert!(
        chain.starts_with("/nonexistent/model.tflite: cannot read the file: "),
        "{chain} ({reason})"
    );
}

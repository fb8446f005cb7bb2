// The subset of onnx.proto (ONNX IR, proto2) the reader decodes and the writer encodes,
// by the spec's field numbers. Messages are decoded one at a time from byte ranges found by
// core/formats/containers/protobuf.ts, so fields missing here are never lost: the writer copies the
// original bytes of everything it does not replace.
import protobuf from 'protobufjs';

const unpacked = { packed: false };

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, options: unpacked },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            int32Data: { rule: 'repeated', type: 'int32', id: 5 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            doubleData: { rule: 'repeated', type: 'double', id: 10 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7, options: unpacked },
            ints: { rule: 'repeated', type: 'int64', id: 8, options: unpacked },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        TensorShapeProto: {
          nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } },
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
        },
        TypeProto: {
          nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } },
          fields: { tensorType: { type: 'Tensor', id: 1 } },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
      },
    },
  },
});

const type = (name: string): protobuf.Type => root.lookupType(`onnx.${name}`);

export const OperatorSetIdProto = type('OperatorSetIdProto');
export const TensorProto = type('TensorProto');
export const NodeProto = type('NodeProto');
export const ValueInfoProto = type('ValueInfoProto');

/** protobufjs gives int64 as Long (when long.js is present) or number. */
export type Int64 = number | { toNumber(): number };
export const int64 = (v: Int64 | undefined | null): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

export interface TensorMessage {
  dims: Int64[]; dataType: number; name: string;
  floatData: number[]; int32Data: number[]; int64Data: Int64[]; doubleData: number[];
  rawData: Uint8Array; externalData: { key: string; value: string }[]; dataLocation: number;
}
export interface AttributeMessage { name: string; type: number; f?: number; i?: Int64; s?: Uint8Array; t?: TensorMessage; floats?: number[]; ints?: Int64[] }
export interface NodeMessage { input: string[]; output: string[]; name: string; opType: string; domain: string; attribute: AttributeMessage[] }

/** TensorProto.DataType values. */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;
/** AttributeProto.AttributeType values. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

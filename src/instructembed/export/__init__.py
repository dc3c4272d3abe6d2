"""Ship a model as ONNX (fp32 or int8) and run it with onnxruntime behind the same `encode` API."""

from instructembed.export.onnx_export import export_onnx
from instructembed.export.onnx_runtime import OnnxInstructor
from instructembed.export.quantize import quantize_int8

__all__ = ["OnnxInstructor", "export_onnx", "quantize_int8"]

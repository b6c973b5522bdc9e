"""The NLI model: loading and scoring, training data, debiasing, calibration, ONNX export,
fine-tuning and model soups."""

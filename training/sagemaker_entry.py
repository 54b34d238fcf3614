"""SageMaker entry point of the Pulse trainer: adapts SageMaker's file layout to training/train.py.

The scheduled retraining cycle in AWS (lib/retraining.ts) runs a training job on AWS's prebuilt
PyTorch CPU training image with this folder as the job's source (sagemaker_program =
sagemaker_entry.py). SageMaker puts the channel `tensors` (the manifest and float32 tensors the
retraining Lambda built with src/core/features.ts) under /opt/ml/input/data/tensors and uploads
whatever is in /opt/ml/model as model.tar.gz when the script exits 0. train.py writes its outputs next
to the manifest, so the channel is copied to a scratch folder first; then the outputs the next Lambda
needs (ONNX, PyTorch's parity forecast, the report) go to the model folder. The ensemble's state
(`outputs.state`) stays out: it is large and only read by offline checks.

On failure the reason goes to /opt/ml/output/failure, which SageMaker reports as the job's
FailureReason (and Step Functions as the error's cause). No argument is read: the recipe is in the
manifest. Standard library only, besides what train.py imports.
"""
import json
import os
import shutil
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
CHANNEL = "tensors"
# What the Lambda after the job reads from model.tar.gz (keys of the manifest's `outputs`).
KEPT_OUTPUTS = ("onnx", "parityForecast", "report")


def main():
    channel_dir = os.environ.get("SM_CHANNEL_" + CHANNEL.upper(), "/opt/ml/input/data/" + CHANNEL)
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    output_dir = os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")
    work_dir = os.path.join(os.environ.get("PULSE_SCRATCH_DIR", "/tmp"), "pulse-training")
    try:
        if not os.path.isfile(os.path.join(channel_dir, "manifest.json")):
            raise FileNotFoundError(f"no manifest.json in the channel {channel_dir}")
        shutil.rmtree(work_dir, ignore_errors=True)
        shutil.copytree(channel_dir, work_dir)
        manifest_path = os.path.join(work_dir, "manifest.json")
        with open(manifest_path) as f:
            outputs = json.load(f)["outputs"]
        # A process of its own, exactly as `pulse train` runs it (members fork inside it).
        subprocess.run([sys.executable, os.path.join(HERE, "train.py"), manifest_path], check=True)
        os.makedirs(model_dir, exist_ok=True)
        for key in KEPT_OUTPUTS:
            shutil.copy2(os.path.join(work_dir, outputs[key]), os.path.join(model_dir, outputs[key]))
        print(f"outputs in {model_dir}: {sorted(os.listdir(model_dir))}", flush=True)
    except Exception as error:  # noqa: BLE001 - every failure is reported the same way
        reason = (
            f"trainer exited with code {error.returncode}"
            if isinstance(error, subprocess.CalledProcessError)
            else f"{type(error).__name__}: {error}"
        )
        traceback.print_exc()
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, "failure"), "w") as f:
            f.write(reason[:1000])
        sys.exit(1)


if __name__ == "__main__":
    main()

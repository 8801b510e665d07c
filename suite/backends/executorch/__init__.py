"""ExecuTorch: torch.export -> the XNNPACK delegate -> a .pte program, run by the ExecuTorch runtime."""

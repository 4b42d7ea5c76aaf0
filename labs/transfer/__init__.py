"""Lab 2: transfer learning CIFAR-10 -> CIFAR-100 (linear SVM on frozen features; fine-tuning strategies)."""

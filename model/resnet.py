"""ResNet-18 trunk for single-channel frames, as used by AKMNet.

The layout follows the classic residual network (He et al., 2016) with two changes taken from the
AKMNet reference: a single input channel and a 5x5 stride-2 stem. The classifier head is dropped:
:class:`ResNet` returns the last stage's feature maps, ``(N, 512, S/32, S/32)`` for ``S x S`` input
(``4 x 4`` at 128).

Every batch norm is a :class:`model.clipnorm.ClipBatchNorm2d`: given the clip index of each frame,
training-mode statistics are per clip (as when the reference feeds one clip per forward pass);
without it they are over the whole batch, as in ``BatchNorm2d``.
"""

from __future__ import annotations

from torch import Tensor, nn

from model.clipnorm import ClipBatchNorm2d


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (a batch norm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias, used for the projection shortcut."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (projected when the shape changes)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = ClipBatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = ClipBatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor, clips: Tensor | None = None, num_clips: int | None = None) -> Tensor:
        """``(N, C, H, W)`` -> ``(N, planes, H / stride, W / stride)``; ``clips (N,)``: see :class:`ResNet`."""
        if self.downsample is None:
            identity = x
        else:  # Sequential(conv1x1, batch norm): called by hand to pass the clip indices
            identity = self.downsample[1](self.downsample[0](x), clips, num_clips)
        out = self.relu(self.bn1(self.conv1(x), clips, num_clips))
        out = self.bn2(self.conv2(out), clips, num_clips)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Residual trunk: stem (5x5/2 conv, BN, ReLU, 3x3/2 max-pool) then four stages of blocks.

    ``forward(x, clips=None, num_clips=None)``: ``(N, in_channels, S, S)`` -> ``(N, 512 * expansion,
    S/32, S/32)``. ``clips (N,)`` (int64, clip index of each frame, ``num_clips`` clips) makes every
    batch norm use per-clip statistics in training mode; None: statistics over all N frames.
    """

    def __init__(self, block: type[BasicBlock], layers: list[int], in_channels: int = 1, width: int = 64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=5, stride=2, padding=2, bias=False)
        self.bn1 = ClipBatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.out_channels = width * 8 * block.expansion

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(
        self, block: type[BasicBlock], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                ClipBatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor, clips: Tensor | None = None, num_clips: int | None = None) -> Tensor:
        if clips is not None and num_clips is None:
            num_clips = int(clips.max()) + 1
        x = self.maxpool(self.relu(self.bn1(self.conv1(x), clips, num_clips)))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                x = block(x, clips, num_clips)
        return x


def resnet18(in_channels: int = 1, width: int = 64) -> ResNet:
    """ResNet-18 trunk (BasicBlock, [2, 2, 2, 2]) on ``in_channels``-channel frames.

    ``width`` is the first stage's channel count (64 in ResNet-18; the last stage has ``8 * width``).
    """
    return ResNet(BasicBlock, [2, 2, 2, 2], in_channels=in_channels, width=width)

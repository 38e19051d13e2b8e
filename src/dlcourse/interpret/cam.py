"""Class activation maps (Zhou et al., 2016) for networks that end in global average pooling.

Taught in the chapter *Interpretability* (``book/interpretability``). Let the last
convolutional layer give :math:`K` feature maps :math:`f_k(x, y)` on an :math:`h \\times w`
grid, global average pooling give :math:`F_k = \\frac{1}{hw}\\sum_{x,y} f_k(x, y)`, and a
linear head the logits :math:`S_c = \\sum_k w^c_k F_k + b_c`. The **class activation map**

.. math:: M_c(x, y) = \\sum_k w^c_k\\, f_k(x, y)

is the same linear head applied at every position, before the pooling. Since pooling and the
head are both linear they commute, and the logit *decomposes exactly* over positions:

.. math:: S_c = \\frac{1}{hw} \\sum_{x, y} M_c(x, y) + b_c .

:math:`M_c(x, y)` is therefore the contribution of position :math:`(x, y)` to the score of
class :math:`c`: where the network "looks" when it says :math:`c`. :class:`GAPNet` is a small
network with that structure (``features`` then ``head``); :func:`class_activation_map`
accepts any model with a ``features`` module (images to maps (N, K, h, w)) and a ``head``
(or ``classifier``) that is a ``torch.nn.Linear``, optionally behind pooling/flatten layers.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import InvalidParameterError, check_scalar
from ._common import check_model, frozen_model, image_batch, model_device, targets

__all__ = ["GAPNet", "class_activation_map", "cam_parts"]


class GAPNet(nn.Module):
    """A small CNN with a global-average-pooling head, the architecture CAM needs.

    ``features``: conv3x3(in -> c1) - ReLU - maxpool 2 - conv3x3(c1 -> c2) - ReLU -
    maxpool 2 - conv3x3(c2 -> c3) - ReLU (padding 1: 28 x 28 digits give 7 x 7 maps);
    then global average pooling and ``head = Linear(c3, n_classes)``.

    Parameters
    ----------
    in_channels, n_classes : int
    channels : tuple of three ints
        Widths of the three convolutions.

    Examples
    --------
    >>> import torch
    >>> net = GAPNet()
    >>> net(torch.zeros(2, 1, 28, 28)).shape, net.features(torch.zeros(2, 1, 28, 28)).shape
    (torch.Size([2, 10]), torch.Size([2, 32, 7, 7]))
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, channels=(8, 16, 32)):
        super().__init__()
        in_channels = check_scalar(in_channels, "in_channels", int, low=1)
        n_classes = check_scalar(n_classes, "n_classes", int, low=1)
        c1, c2, c3 = (check_scalar(c, "channels", int, low=1) for c in channels)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Linear(c3, n_classes)

    def forward(self, x):
        return self.head(torch.mean(self.features(x), dim=(2, 3)))


def cam_parts(model):
    """``(features, linear)`` of a model with a global-average-pooling head.

    ``features`` is ``model.features``; ``linear`` is ``model.head`` or ``model.classifier``
    when it is a ``torch.nn.Linear``, or the last ``Linear`` of it when it is a
    ``Sequential`` whose other layers are pooling/flatten/identity layers.
    """
    import torch
    from torch import nn

    features = getattr(model, "features", None)
    head = getattr(model, "head", None)
    if head is None:
        head = getattr(model, "classifier", None)
    if isinstance(head, nn.Sequential):
        linears = [m for m in head if isinstance(m, nn.Linear)]
        harmless = (nn.Flatten, nn.Identity, nn.AdaptiveAvgPool2d, nn.Dropout)
        others = [m for m in head if not isinstance(m, (nn.Linear, *harmless))]
        head = linears[-1] if len(linears) == 1 and not others else None
    if not callable(features) or not isinstance(head, torch.nn.Linear):
        raise InvalidParameterError(
            "class_activation_map needs a model with a 'features' module (images -> maps of "
            "shape (N, K, h, w)) and a 'head' (or 'classifier') that is one torch.nn.Linear "
            "applied after global average pooling, such as dlcourse.interpret.GAPNet; got "
            f"{type(model).__name__}."
        )
    return features, head


def class_activation_map(model, x, target=None, *, size=None, return_logits: bool = False):
    """The class activation map :math:`M_c(x, y) = \\sum_k w^c_k f_k(x, y)` of each input.

    Parameters
    ----------
    model : torch.nn.Module
        With ``features`` and a linear ``head`` after global average pooling (see
        :func:`cam_parts`). Its mode and parameters are left as they were.
    x : Tensor of shape (N, C, H, W)
        Images (not changed).
    target : int, sequence or Tensor (N,), optional
        The class :math:`c` per input; ``None``: the predicted class.
    size : (int, int), optional
        Upsample the maps bilinearly to this size (e.g. the image's) for display; the
        decomposition identity holds for the maps on the feature grid (``size=None``).
    return_logits : bool
        Also return the logits :math:`S` (N, n_classes) computed from the same features.

    Returns
    -------
    cam : Tensor of shape (N, h, w) (or (N, *size)), detached, on the model's device
    logits : Tensor (N, n_classes), only if ``return_logits``; on the feature grid,
        ``cam.mean((1, 2)) + head.bias[c] == logits[n, c]``.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = GAPNet()
    >>> x = torch.rand(3, 1, 28, 28)
    >>> cam, z = class_activation_map(net, x, target=4, return_logits=True)
    >>> cam.shape
    torch.Size([3, 7, 7])
    >>> bool(torch.allclose(cam.mean((1, 2)) + net.head.bias[4], z[:, 4], atol=1e-6))
    True
    """
    import torch
    import torch.nn.functional as F

    model = check_model(model)
    features, head = cam_parts(model)
    x = image_batch(x)
    return_logits = check_scalar(return_logits, "return_logits", bool)
    if x.ndim != 4:
        raise InvalidParameterError(
            f"The 'x' argument of class_activation_map must be images of shape (N, C, H, W); "
            f"got shape {tuple(x.shape)}."
        )
    dev, dtype = model_device(model, x)
    with frozen_model(model), torch.no_grad():
        f = features(x.to(dev, dtype))
        if f.ndim != 4 or f.shape[1] != head.in_features:
            raise InvalidParameterError(
                f"model.features must give maps (N, {head.in_features}, h, w) to match the "
                f"head; it gave shape {tuple(f.shape)}."
            )
        z = head(f.mean(dim=(2, 3)))
        c = targets(target, z)
        w = head.weight[c]  # (N, K)
        cam = torch.einsum("nk,nkhw->nhw", w, f)
        if size is not None:
            h, wd = (check_scalar(s, "size", int, low=1) for s in size)
            cam = F.interpolate(cam[:, None], size=(h, wd), mode="bilinear", align_corners=False)
            cam = cam[:, 0]
    return (cam, z) if return_logits else cam

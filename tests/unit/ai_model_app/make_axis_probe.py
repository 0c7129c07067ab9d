import torch
class AxisProbe(torch.nn.Module):
    def forward(self, x):
        # channel c = the input shifted by one voxel along W (c=0), H (c=1), D (c=2)
        return torch.cat([torch.roll(x, 1, dims=-1), torch.roll(x, 1, dims=-2), torch.roll(x, 1, dims=-3)], 1)
m = torch.jit.script(AxisProbe())
m.save("axis_probe.pt")
x = torch.arange(2*3*4, dtype=torch.float32).reshape(1,1,2,3,4)
print(m(x).shape, torch.__version__)

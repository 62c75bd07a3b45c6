//! Adam as `torch.optim.Adam` computes it, with its state in plain named tensors so a
//! checkpoint can hold it and a resumed run continues exactly (tch's optimizer keeps its
//! moments out of reach).

use dancenow_nn::tch::{self, nn::VarStore, Kind, Tensor};

const EPS: f64 = 1e-8;

pub struct Adam {
    beta1: f64,
    beta2: f64,
    /// Updates made so far.
    steps: i64,
    /// Sorted by name, so the order is the same in every run.
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl Adam {
    /// An optimizer over every trainable variable of `vs`.
    pub fn new(vs: &VarStore, beta1: f64, beta2: f64) -> Self {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |p: &Vec<(String, Tensor)>| p.iter().map(|(_, t)| t.zeros_like()).collect();
        Self {
            beta1,
            beta2,
            steps: 0,
            m: zeros(&params),
            v: zeros(&params),
            params,
        }
    }

    /// The variables this optimizer updates, in its order: the `inputs` to ask autograd
    /// for, so that [`Adam::step`]'s gradients line up with them.
    pub fn params(&self) -> Vec<&Tensor> {
        self.params.iter().map(|(_, p)| p).collect()
    }

    /// The gradients of `loss` with respect to this optimizer's variables, and nothing
    /// else: the backward pass skips the weight gradients of networks this optimizer does
    /// not own. `keep_graph` keeps the graph for a second backward through shared parts.
    pub fn gradients(&self, loss: &Tensor, keep_graph: bool) -> Vec<Tensor> {
        Tensor::run_backward(&[loss], &self.params(), keep_graph, false)
    }

    /// One update with learning rate `lr` from `grads`, one per variable in the order of
    /// [`Adam::params`]; an undefined gradient (a variable the loss does not reach) leaves
    /// that variable and its moments as they are.
    pub fn step(&mut self, grads: &[Tensor], lr: f64) {
        assert_eq!(grads.len(), self.params.len(), "one gradient per variable");
        self.steps += 1;
        let bias1 = 1.0 - self.beta1.powi(self.steps as i32);
        let bias2_sqrt = (1.0 - self.beta2.powi(self.steps as i32)).sqrt();
        tch::no_grad(|| {
            let moments = self.m.iter_mut().zip(&mut self.v);
            for (((_, p), (m, v)), g) in self.params.iter_mut().zip(moments).zip(grads) {
                if !g.defined() {
                    continue;
                }
                let _ = m.lerp_(g, 1.0 - self.beta1);
                let _ = v.lerp_(&g.square(), 1.0 - self.beta2);
                // p -= step * m / (sqrt(v) / bias2_sqrt + eps), as one addcdiv with the
                // denominator scaled by -1/step, in place: the optimizer is memory-bound.
                let step = lr / bias1;
                if step == 0.0 {
                    continue;
                }
                let mut denom = v.sqrt();
                let _ = denom
                    .g_mul_scalar_(-1.0 / (step * bias2_sqrt))
                    .g_add_scalar_(-EPS / step);
                let _ = p.f_addcdiv_(m, &denom).expect("same shapes");
            }
        });
    }

    /// The state as named tensors: `steps`, `m.NAME`, `v.NAME`.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("steps".to_string(), Tensor::from(self.steps))];
        for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter().zip(&self.v)) {
            out.push((format!("m.{name}"), m.shallow_clone()));
            out.push((format!("v.{name}"), v.shallow_clone()));
        }
        out
    }

    /// Takes the state back from what [`Adam::state`] gave; `get` looks a name up.
    pub fn load_state(
        &mut self,
        mut get: impl FnMut(&str, &Tensor) -> Result<Tensor, String>,
    ) -> Result<(), String> {
        let steps = get("steps", &Tensor::from(0i64))?;
        self.steps = steps.int64_value(&[]);
        tch::no_grad(|| {
            for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter_mut().zip(&mut self.v)) {
                m.copy_(&get(&format!("m.{name}"), m)?.to_kind(Kind::Float));
                v.copy_(&get(&format!("v.{name}"), v)?.to_kind(Kind::Float));
            }
            Ok(())
        })
    }
}
